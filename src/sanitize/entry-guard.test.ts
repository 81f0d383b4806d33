import { describe, expect, it } from 'vitest';
import { InputRejectedError } from '../errors/input-rejected-error';
import { guardMessageEntryPoints } from './entry-guard';

class FakeMessages {
  calls: unknown[][] = [];
  create(params: unknown, options?: unknown): string {
    this.calls.push([params, options]);
    return 'created';
  }
  stream(params: unknown): string {
    this.calls.push([params]);
    return 'streamed';
  }
}

const good = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };

describe('guardMessageEntryPoints', () => {
  it('passes well-formed params, options and `this` through untouched', () => {
    const resource = new FakeMessages();
    guardMessageEntryPoints(resource);
    const options = { timeout: 5 };
    expect(resource.create(good, options)).toBe('created');
    expect(resource.stream(good)).toBe('streamed');
    expect(resource.calls).toEqual([[good, options], [good]]);
    expect(resource.calls[0]![0]).toBe(good);
  });

  it.each([
    ['messages missing', { model: 'm', max_tokens: 5 }, 'messages'],
    ['messages a string', { ...good, messages: 'hi' }, 'messages'],
    ['a null message', { ...good, messages: [{ role: 'user', content: 'a' }, null] }, 'messages[1]'],
  ])('%s: throws InputRejectedError naming %s, synchronously, without calling the SDK', (_name, params, field) => {
    const resource = new FakeMessages();
    guardMessageEntryPoints(resource);
    for (const method of [() => resource.create(params), () => resource.stream(params)]) {
      let thrown: unknown;
      try {
        method();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InputRejectedError);
      expect(thrown).toMatchObject({ field, reason: 'invalid' });
    }
    expect(resource.calls).toEqual([]);
  });

  it('leaves what the SDK can read to the layer (an empty array, a bad role)', () => {
    const resource = new FakeMessages();
    guardMessageEntryPoints(resource);
    expect(resource.create({ ...good, messages: [] })).toBe('created');
    expect(resource.create({ ...good, messages: [{ role: 'bot', content: 'x' }] })).toBe('created');
    expect(resource.create('not an object')).toBe('created');
  });

  it('only touches this instance', () => {
    guardMessageEntryPoints(new FakeMessages());
    const other = new FakeMessages();
    expect(other.create({ model: 'm' })).toBe('created');
  });
});
