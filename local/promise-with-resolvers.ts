/**
 * Installs `Promise.withResolvers` (ES2024) where the runtime lacks it.
 *
 * aws-local-stepfunctions 3.0.0 calls it for every Task's timeout race. Node 20 does not have it,
 * so without this every Task would fail with a TypeError after its handler had already run.
 */
declare global {
  interface PromiseConstructor {
    withResolvers<T>(): {
      promise: Promise<T>;
      resolve: (value: T | PromiseLike<T>) => void;
      reject: (reason?: unknown) => void;
    };
  }
}

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    // As in the specification, `this` is the constructor, so subclasses get instances of themselves.
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new this<T>((resolvePromise, rejectPromise) => {
        resolve = resolvePromise;
        reject = rejectPromise;
      });
      return { promise, resolve, reject };
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

export {};
