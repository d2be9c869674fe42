import { measureBundles } from './cases/bundles.ts';
console.log(await measureBundles(3));
