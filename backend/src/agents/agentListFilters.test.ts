import { describe, expect, it } from 'vitest';
import { parseLabelSelector } from './agentListFilters.js';

describe('parseLabelSelector', () => {
  it('splits at the first "="', () => {
    expect(parseLabelSelector('role=db')).toEqual({ role: 'db' });
    expect(parseLabelSelector('example.com/tier=')).toEqual({ 'example.com/tier': '' });
  });
});
