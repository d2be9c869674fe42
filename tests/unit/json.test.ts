import { describe, expect, it } from 'vitest';

import { childPath, JsonSyntaxError, parseJson } from '../../shared/manifest/json.ts';

/** Parses text that must be rejected, and returns the syntax error. */
function syntaxErrorOf(text: string): JsonSyntaxError {
  try {
    parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected JsonSyntaxError for ${JSON.stringify(text)}`);
}

describe('parseJson', () => {
  it.each([
    ['quote', '"\\""', '"'],
    ['backslash', '"\\\\"', '\\'],
    ['slash', '"\\/"', '/'],
    ['backspace', '"\\b"', '\b'],
    ['form feed', '"\\f"', '\f'],
    ['newline', '"\\n"', '\n'],
    ['carriage return', '"\\r"', '\r'],
    ['tab', '"\\t"', '\t'],
    ['lowercase \\u', '"\\u00e9"', 'é'],
    ['uppercase \\u', '"\\u00C9"', 'É'],
    ['surrogate pair \\u', '"\\ud83d\\ude00"', '😀'],
    ['NUL \\u', '"\\u0000"', '\u0000'],
  ])('decodes the %s escape', (_case, text, expected) => {
    // Act
    const { value } = parseJson(text);

    // Assess
    expect(value).toBe(expected);
  });

  it('keeps unescaped non-ASCII characters', () => {
    // Act
    const { value } = parseJson('"Grüße, 東京 😀"');

    // Assess
    expect(value).toBe('Grüße, 東京 😀');
  });

  it.each([
    ['an unknown escape', '"\\x41"', 'invalid escape "\\x"'],
    ['a short unicode escape', '"\\u12"', 'invalid \\u escape'],
    ['a non-hex unicode escape', '"\\u12G4"', 'invalid \\u escape'],
    ['a raw newline', '"a\nb"', 'control character'],
    ['a raw tab', '"a\tb"', 'control character'],
    ['a missing closing quote', '"abc', 'unterminated string'],
  ])('rejects a string with %s', (_case, text, expected) => {
    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.message).toContain(expected);
  });

  it.each([
    ['0', 0],
    ['-0', -0],
    ['42', 42],
    ['-17', -17],
    ['3.25', 3.25],
    ['1e3', 1000],
    ['1E+2', 100],
    ['2.5e-3', 0.0025],
    ['12345678901234567890', 12345678901234567890],
  ])('parses the number %s', (text, expected) => {
    // Act
    const { value } = parseJson(text);

    // Assess
    expect(value).toBe(expected);
  });

  it('parses a number longer than 400 characters', () => {
    // Prepare
    const text = `[${'9'.repeat(500)}]`;

    // Act
    const { value } = parseJson(text);

    // Assess
    expect(value).toEqual(JSON.parse(text));
  });

  it.each([
    ['a leading zero', '01'],
    ['a leading plus', '+1'],
    ['a bare minus', '-'],
    ['a trailing dot', '1.'],
    ['a leading dot', '.5'],
    ['an empty exponent', '1e'],
    ['a hexadecimal literal', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
  ])('rejects a number with %s', (_case, text) => {
    // Act
    const parse = () => parseJson(text);

    // Assess
    expect(parse).toThrow(JsonSyntaxError);
  });

  it('parses literals', () => {
    // Act
    const { value } = parseJson('[true, false, null]');

    // Assess
    expect(value).toEqual([true, false, null]);
  });

  it.each(['tru', 'nul', 'True', 'undefined', "'single'"])('rejects %s as a value', (text) => {
    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.message).toContain('expected a JSON value');
  });

  it('parses nested values', () => {
    // Prepare
    const text = '{"a": [1, {"b": [[], {}, [null]]}], "c": {"d": {"e": "f"}}, "": 0}';

    // Act
    const { value } = parseJson(text);

    // Assess
    expect(value).toEqual(JSON.parse(text));
  });

  it('agrees with JSON.parse on a formatted document', () => {
    // Prepare
    const document = { kind: 'Service', name: 'my-app', resources: [{ kind: 'Secret', name: 'A' }], meta: { n: -1.5e-7, ok: true, none: null } };
    const text = JSON.stringify(document, null, '\t');

    // Act
    const { value } = parseJson(text);

    // Assess
    expect(value).toEqual(document);
  });

  it('stores __proto__ as an own data key', () => {
    // Act
    const { value } = parseJson('{"__proto__": {"polluted": true}, "constructor": 1}');
    const record = value as Record<string, unknown>;

    // Assess
    expect(Object.keys(record)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(record, '__proto__')?.value).toEqual({ polluted: true });
    expect(record.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a duplicate __proto__ key', () => {
    // Act
    const error = syntaxErrorOf('{"__proto__": 1, "__proto__": 2}');

    // Assess
    expect(error.message).toContain('duplicate key "__proto__"');
  });

  it('records the position of every value', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "resources": [\n    {"name": "A"},\n    {"name": "B"}\n  ]\n}';

    // Act
    const { positions } = parseJson(text);

    // Assess
    expect(positions.get('$')).toEqual({ line: 1, column: 1 });
    expect(positions.get('$.kind')).toEqual({ line: 2, column: 11 });
    expect(positions.get('$.resources')).toEqual({ line: 3, column: 16 });
    expect(positions.get('$.resources[0]')).toEqual({ line: 4, column: 5 });
    expect(positions.get('$.resources[1].name')).toEqual({ line: 5, column: 14 });
  });

  it('counts CRLF line endings as one line', () => {
    // Prepare
    const text = '{\r\n  "a": 1,\r\n  "b": tru\r\n}';

    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.path).toBe('$.b');
    expect(error.position).toEqual({ line: 3, column: 8 });
  });

  it('reports a missing comma on a later line', () => {
    // Prepare
    const text = '{\n  "a": 1\n  "b": 2\n}';

    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.path).toBe('$');
    expect(error.message).toContain('expected "," or "}"');
    expect(error.position).toEqual({ line: 3, column: 3 });
  });

  it('reports a duplicate key at its second occurrence', () => {
    // Prepare
    const text = '{\n  "a": {\n    "x": 1,\n    "x": 2\n  }\n}';

    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.path).toBe('$.a.x');
    expect(error.message).toContain('first appears at line 3, column 5');
    expect(error.position).toEqual({ line: 4, column: 5 });
  });

  it('reports an unterminated string where it starts', () => {
    // Prepare
    const text = '[\n  "ok",\n  "open\n]';

    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.path).toBe('$[1]');
    expect(error.position.line).toBe(3);
  });

  it.each([
    ['an unquoted key', '{a: 1}', 'expected a property name in double quotes'],
    ['a missing colon', '{"a" 1}', 'expected ":" after "a"'],
    ['a trailing comma in an object', '{"a": 1,}', 'trailing comma'],
    ['a trailing comma in an array', '[1,]', 'trailing comma'],
    ['a missing comma in an array', '[1 2]', 'expected "," or "]"'],
    ['an unclosed object', '{"a": 1', 'end of file'],
    ['an unclosed array', '[1', 'end of file'],
    ['text after the value', '{} {}', 'after the end of the JSON value'],
    ['a comment', '{"a": 1 // note\n}', 'expected "," or "}"'],
    ['an empty document', '', 'the file is empty'],
  ])('rejects %s', (_case, text, expected) => {
    // Act
    const error = syntaxErrorOf(text);

    // Assess
    expect(error.message).toContain(expected);
  });
});

describe('childPath', () => {
  it.each([
    ['$', 0, '$[0]'],
    ['$', 'resources', '$.resources'],
    ['$.resources[0]', 'name', '$.resources[0].name'],
    ['$', '$schema', '$["$schema"]'],
    ['$', 'my key', '$["my key"]'],
    ['$', 'a"b', '$["a\\"b"]'],
    ['$', '', '$[""]'],
  ])('extends %s with %j', (parent, key, expected) => {
    // Act
    const path = childPath(parent, key);

    // Assess
    expect(path).toBe(expected);
  });
});
