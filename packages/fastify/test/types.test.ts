import type { AcceptInput, WsAuthServer } from '@wsauth/core';
import Fastify, { type FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type FastifyWsAuthOptions, wsAuth } from '../src/index.js';
// Imported for its WsAuthUser augmentation ({ id: string; name: string }).
import './session-app.js';

describe('types', () => {
  it('socket handler gets a typed user', () => {
    const app = Fastify();
    app.get('/ws', { websocket: true }, (socket, request) => {
      expectTypeOf(socket).toEqualTypeOf<WebSocket>();
      expectTypeOf(request.user?.id).toEqualTypeOf<string | undefined>();
      expectTypeOf(request.user?.name).toEqualTypeOf<string | undefined>();
    });
  });

  it('app.wsauth is the core server', () => {
    const app = Fastify();
    expectTypeOf(app.wsauth).toEqualTypeOf<WsAuthServer>();
    // Compiles only if the plugin and its options fit Fastify's register().
    const registerTyped = async () => {
      await app.register(wsAuth, { authTimeoutMs: 1000, context: () => ({}) });
    };
    expectTypeOf(registerTyped).toBeFunction();
  });

  it('injectWS takes a remote address', () => {
    const app = Fastify();
    type InjectOptions = NonNullable<Parameters<typeof app.injectWS>[2]>;
    expectTypeOf<InjectOptions['remoteAddress']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Awaited<ReturnType<typeof app.injectWS>>>().toHaveProperty('send');
  });

  it('context option returns an auth input', () => {
    type Context = NonNullable<FastifyWsAuthOptions['context']>;
    expectTypeOf<Parameters<Context>[0]>().toEqualTypeOf<FastifyRequest>();
    expectTypeOf<ReturnType<Context>>().toEqualTypeOf<AcceptInput>();
  });
});
