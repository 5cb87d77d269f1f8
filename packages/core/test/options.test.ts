import { describe, expect, it } from 'vitest';
import { ErrorCodes, WsAuthServer } from '../src/index.js';

describe('forwardedForHeader option', () => {
  it('defaults to X-Forwarded-For', () => {
    const core = new WsAuthServer();
    expect(core.options.forwardedForHeader()).toBe('x-forwarded-for');
  });

  it('lower-cases a given name', () => {
    const core = new WsAuthServer({ forwardedForHeader: 'X-Real-IP' });
    expect(core.options.forwardedForHeader()).toBe('x-real-ip');
  });

  it('reads a function per call', () => {
    let name = 'X-Client-IP';
    const core = new WsAuthServer({ forwardedForHeader: () => name });
    expect(core.options.forwardedForHeader()).toBe('x-client-ip');

    name = '';
    expect(core.options.forwardedForHeader()).toBe('x-forwarded-for');
  });

  it('rejects a value that is not a header name', () => {
    for (const value of ['', 42]) {
      expect(
        () => new WsAuthServer({ forwardedForHeader: value as unknown as string }),
      ).toThrowError(
        expect.objectContaining({
          code: ErrorCodes.INVALID_OPTION,
          message: expect.stringContaining('forwardedForHeader'),
        }),
      );
    }
  });
});
