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
    ['params missing', undefined, 'params'],
    ['messages a number', { ...good, messages: 5 }, 'messages'],
    ['messages a non-iterable object', { ...good, messages: { role: 'user' } }, 'messages'],
    ['a null message', { ...good, messages: [{ role: 'user', content: 'a' }, null] }, 'messages[1]'],
  ])('%s (the SDK itself would throw a TypeError): throws InputRejectedError naming %s, synchronously', (_name, params, field) => {
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

  it('messages missing: stream() would throw in the SDK (so the guard does), create() would not', () => {
    const resource = new FakeMessages();
    guardMessageEntryPoints(resource);
    const params = { model: 'm', max_tokens: 5 };
    expect(() => resource.stream(params)).toThrow(InputRejectedError);
    expect(resource.create(params)).toBe('created');
  });

  it('leaves what the SDK can read to the layer, which rejects the promise (a string, an empty array, a bad role)', () => {
    const resource = new FakeMessages();
    guardMessageEntryPoints(resource);
    expect(resource.create({ ...good, messages: 'hello' })).toBe('created');
    expect(resource.stream({ ...good, messages: 'hello' })).toBe('streamed');
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
