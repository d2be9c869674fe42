/**
 * A strict JSON parser (RFC 8259) that also reports what JSON.parse cannot. It gives the line and
 * column of a syntax error, rejects keys that appear twice in one object, and records where each
 * value starts, so that schema errors can point at a line. Duplicate keys are an error because
 * JSON.parse silently keeps the last one, which would hide a mistake in the manifest.
 */

export interface Position {
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly position: Position,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface ParsedJson {
  value: unknown;
  /** Start of every value, keyed by its JSON path (`$`, `$.resources[0].name`). */
  positions: Map<string, Position>;
}

export function parseJson(text: string): ParsedJson {
  const parser = new Parser(text);
  return { value: parser.parseDocument(), positions: parser.positions };
}

export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

const NUMBER_PATTERN = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  readonly positions = new Map<string, Position>();
  private index = 0;
  // Newlines can only occur in whitespace (strings reject control characters), so the line is
  // tracked there and positions cost nothing extra.
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.skipWhitespace();
    if (this.index >= this.text.length) this.fail('$', 'the file is empty; expected a JSON object');
    const value = this.parseValue('$');
    this.skipWhitespace();
    if (this.index < this.text.length) this.fail('$', `unexpected ${this.describeNext()} after the end of the JSON value`);
    return value;
  }

  private parseValue(path: string): unknown {
    this.positions.set(path, this.position());
    const char = this.text[this.index];
    if (char === '{') return this.parseObject(path);
    if (char === '[') return this.parseArray(path);
    if (char === '"') return this.parseString(path);
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.parseNumber(path);
    if (this.text.startsWith('true', this.index)) return this.literal(4, true);
    if (this.text.startsWith('false', this.index)) return this.literal(5, false);
    if (this.text.startsWith('null', this.index)) return this.literal(4, null);
    return this.fail(path, `unexpected ${this.describeNext()}; expected a JSON value`);
  }

  private parseObject(path: string): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    const keyPositions = new Map<string, Position>();
    this.index++;
    this.skipWhitespace();
    if (this.text[this.index] === '}') {
      this.index++;
      return result;
    }

    let commaPosition: Position | undefined;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.index] === '}' && commaPosition) {
        this.failAt(path, commaPosition, 'trailing comma before "}"; JSON allows no comma after the last property');
      }
      if (this.text[this.index] !== '"') {
        this.fail(path, `unexpected ${this.describeNext()}; expected a property name in double quotes`);
      }
      const keyPosition = this.position();
      const key = this.parseString(path);
      const earlier = keyPositions.get(key);
      if (earlier) {
        this.failAt(
          childPath(path, key),
          keyPosition,
          `duplicate key "${key}"; it first appears at line ${earlier.line}, column ${earlier.column}`,
        );
      }
      keyPositions.set(key, keyPosition);

      this.skipWhitespace();
      if (this.text[this.index] !== ':') this.fail(path, `unexpected ${this.describeNext()}; expected ":" after "${key}"`);
      this.index++;
      this.skipWhitespace();
      // Own data property, so that a key such as "__proto__" is stored, not used as a prototype.
      Object.defineProperty(result, key, {
        value: this.parseValue(childPath(path, key)),
        enumerable: true,
        writable: true,
        configurable: true,
      });

      this.skipWhitespace();
      commaPosition = this.position();
      const separator = this.text[this.index];
      this.index++;
      if (separator === '}') return result;
      if (separator !== ',') {
        this.index--;
        this.fail(path, `unexpected ${this.describeNext()}; expected "," or "}"`);
      }
    }
  }

  private parseArray(path: string): unknown[] {
    const result: unknown[] = [];
    this.index++;
    this.skipWhitespace();
    if (this.text[this.index] === ']') {
      this.index++;
      return result;
    }

    let commaPosition: Position | undefined;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.index] === ']' && commaPosition) {
        this.failAt(path, commaPosition, 'trailing comma before "]"; JSON allows no comma after the last element');
      }
      result.push(this.parseValue(childPath(path, result.length)));
      this.skipWhitespace();
      commaPosition = this.position();
      const separator = this.text[this.index];
      this.index++;
      if (separator === ']') return result;
      if (separator !== ',') {
        this.index--;
        this.fail(path, `unexpected ${this.describeNext()}; expected "," or "]"`);
      }
    }
  }

  private parseString(path: string): string {
    const start = this.position();
    this.index++;
    let result = '';
    for (;;) {
      const char = this.text[this.index];
      if (char === undefined) this.failAt(path, start, 'unterminated string');
      if (char === '"') {
        this.index++;
        return result;
      }
      if (char < ' ') this.fail(path, 'control character in a string; write it as an escape such as \\n');
      if (char === '\\') {
        const escape = this.text[this.index + 1] ?? '';
        if (escape === 'u') {
          const hex = this.text.slice(this.index + 2, this.index + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(path, 'invalid \\u escape; expected four hexadecimal digits');
          result += String.fromCharCode(parseInt(hex, 16));
          this.index += 6;
          continue;
        }
        const decoded = ESCAPES[escape];
        if (decoded === undefined) this.fail(path, `invalid escape "\\${escape}" in a string`);
        result += decoded;
        this.index += 2;
        continue;
      }
      result += char;
      this.index++;
    }
  }

  private parseNumber(path: string): number {
    // Sticky, so the match starts at the current index and a number of any length is read whole.
    NUMBER_PATTERN.lastIndex = this.index;
    const match = NUMBER_PATTERN.exec(this.text);
    if (!match) this.fail(path, `invalid number starting with ${this.describeNext()}`);
    this.index += match[0].length;
    return Number(match[0]);
  }

  private literal<T>(length: number, value: T): T {
    this.index += length;
    return value;
  }

  private skipWhitespace(): void {
    for (;;) {
      const char = this.text[this.index];
      if (char !== ' ' && char !== '\t' && char !== '\n' && char !== '\r') return;
      this.index++;
      if (char === '\n') {
        this.line++;
        this.lineStart = this.index;
      }
    }
  }

  private describeNext(): string {
    if (this.index >= this.text.length) return 'end of file';
    return JSON.stringify(this.text.slice(this.index, this.index + 12).split(/\s/)[0] || this.text[this.index]);
  }

  private position(): Position {
    return { line: this.line, column: this.index - this.lineStart + 1 };
  }

  private fail(path: string, message: string): never {
    return this.failAt(path, this.position(), message);
  }

  private failAt(path: string, position: Position, message: string): never {
    throw new JsonSyntaxError(message, path, position);
  }
}
