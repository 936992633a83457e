import { describe, expect, it } from 'vitest';

import { compareVersions, isTwoPartMajor, majorLabel, majorOrder, parseServerVersionNum, parseVersion } from '../../../src/pg/version.js';

describe('parseVersion', () => {
  it.each([
    ['pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)', { major: 15, minor: 20, text: '15.20' }],
    ['psql (PostgreSQL) 16.4 (Homebrew)', { major: 16, minor: 4, text: '16.4' }],
    ['pg_restore (PostgreSQL) 9.6.24', { major: 96, minor: 24, text: '9.6.24' }],
    ['17beta1', { major: 17, minor: 0, text: '17beta1' }],
    ['PostgreSQL 17.10 on x86_64-pc-linux-gnu, compiled by gcc', { major: 17, minor: 10, text: '17.10' }],
    ['PostgreSQL 9.6.24 on x86_64-pc-linux-gnu, compiled by gcc (GCC) 4.8.5', { major: 96, minor: 24, text: '9.6.24' }],
    ['14.11', { major: 14, minor: 11, text: '14.11' }],
    ['16.4 (Ubuntu 16.4-1.pgdg22.04+1)', { major: 16, minor: 4, text: '16.4' }],
    ['postgres (PostgreSQL) 17.10\n', { major: 17, minor: 10, text: '17.10' }],
    ['  10.23  ', { major: 10, minor: 23, text: '10.23' }],
    ['18devel', { major: 18, minor: 0, text: '18devel' }],
  ])('parses %j', (input, expected) => {
    expect(parseVersion(input)).toEqual(expected);
  });

  it.each(['', 'pg_dump: command not found', 'no version here'])('returns undefined for %j', (input) => {
    expect(parseVersion(input)).toBeUndefined();
  });
});

describe('parseServerVersionNum', () => {
  it('reads modern numbers as major.minor', () => {
    expect(parseServerVersionNum(150020)).toEqual({ major: 15, minor: 20, text: '15.20' });
    expect(parseServerVersionNum('170010')).toEqual({ major: 17, minor: 10, text: '17.10' });
    expect(parseServerVersionNum(100000)).toEqual({ major: 10, minor: 0, text: '10.0' });
  });

  it('reads pre-10 numbers with a two-part major encoded as 96', () => {
    expect(parseServerVersionNum(90624)).toEqual({ major: 96, minor: 24, text: '9.6.24' });
    expect(parseServerVersionNum(90105)).toEqual({ major: 91, minor: 5, text: '9.1.5' });
  });
});

describe('majorLabel', () => {
  it('writes majors the way people do', () => {
    expect(majorLabel(15)).toBe('15');
    expect(majorLabel(10)).toBe('10');
    expect(majorLabel(96)).toBe('9.6');
    expect(majorLabel(95)).toBe('9.5');
  });
});

describe('compareVersions', () => {
  it('orders by major, then minor', () => {
    const v = (text: string) => parseVersion(text)!;
    expect(compareVersions(v('15.4'), v('16.1'))).toBeLessThan(0);
    expect(compareVersions(v('16.10'), v('16.9'))).toBeGreaterThan(0);
    expect(compareVersions(v('15.4'), v('15.4'))).toBe(0);
  });

  it('orders 9.6 (encoded 96) before 10', () => {
    const v = (text: string) => parseVersion(text)!;
    expect(compareVersions(v('9.6.24'), v('10.1'))).toBeLessThan(0);
    expect(compareVersions(v('9.5.25'), v('9.6.1'))).toBeLessThan(0);
    expect(compareVersions(v('17.0'), v('9.6.24'))).toBeGreaterThan(0);
  });
});

describe('majorOrder', () => {
  it('maps encoded two-part majors below every one-part major', () => {
    expect(isTwoPartMajor(96)).toBe(true);
    expect(isTwoPartMajor(17)).toBe(false);
    expect(majorOrder(96)).toBeCloseTo(9.6);
    expect(majorOrder(15)).toBe(15);
    expect([17, 96, 10, 95, 14].sort((a, b) => majorOrder(a) - majorOrder(b))).toEqual([95, 96, 10, 14, 17]);
  });
});
