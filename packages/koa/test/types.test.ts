import type { AcceptInput } from '@wsauth/core';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import type { WebSocket } from 'ws';
import { createWsAuth, type WsAuthKoa } from '../src/index.js';

declare module '@wsauth/core' {
  interface WsAuthUser {
    id: string;
    roles: readonly string[];
  }
}

describe('types', () => {
  it('types ctx.ws, ctx.isWebSocket and ctx.state.user', () => {
    const app = new Koa();
    const wsauth = createWsAuth(app);
    expectTypeOf(wsauth).toEqualTypeOf<WsAuthKoa>();

    app.use(async (ctx) => {
      expectTypeOf(ctx.ws).parameters.toEqualTypeOf<[overrides?: AcceptInput]>();
      expectTypeOf(ctx.ws).returns.toEqualTypeOf<Promise<WebSocket>>();
      expectTypeOf(ctx.isWebSocket).toEqualTypeOf<boolean>();
      expectTypeOf(ctx.state.user?.roles).toEqualTypeOf<readonly string[] | undefined>();
    });
  });
});
