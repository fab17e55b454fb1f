import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { cutMarker, fitLine, jsonFieldBytes } from '../../src/lib/longLines.js';

describe('fitLine: a line over the field limit is cut in its longest token', () => {
  it('leaves a line that fits alone', () => {
    assert.deepEqual(fitLine('a b c', 100), { line: 'a b c', cut: false });
  });

  it("keeps what is around the longest token, and the token's start", () => {
    const line = `head ${'x'.repeat(500)} tail-1 tail-2`;
    const { line: fitted, cut } = fitLine(line, 100);
    assert.equal(cut, true);
    assert.ok(jsonFieldBytes(fitted) <= 100);
    assert.match(fitted, new RegExp(`^head x+${cutMarker} tail-1 tail-2$`));
    assert.equal(jsonFieldBytes(fitLine(line, 100).line), 100, 'as much of the token as fits');
  });

  it('counts what JSON escaping adds, and multi-byte characters, and never splits a surrogate pair', () => {
    const line = `a ${'"'.repeat(80)} b`;
    assert.ok(jsonFieldBytes(fitLine(line, 60).line) <= 60);
    const emoji = `a ${'😀'.repeat(50)} b`;
    const fitted = fitLine(emoji, 60).line;
    assert.ok(jsonFieldBytes(fitted) <= 60);
    assert.doesNotMatch(fitted, /[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('cuts the end of a line of many short tokens that cannot fit otherwise', () => {
    const line = Array.from({ length: 100 }, (_, i) => `t${i}`).join(' ');
    const { line: fitted, cut } = fitLine(line, 50);
    assert.equal(cut, true);
    assert.ok(jsonFieldBytes(fitted) <= 50);
    assert.ok(fitted.startsWith('t0 t1 ') && fitted.endsWith(cutMarker));
  });
});
