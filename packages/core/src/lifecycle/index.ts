export { InProcessBus } from './bus.js';
export {
  type CloseSource,
  Lifecycle,
  type SocketCloseCause,
  type SocketCloseEvent,
  socketCloseChannelName,
} from './lifecycle.js';
export type { RegisteredSocket, RegistryCounts } from './registry.js';
export { getRevalidation, Revalidation, type RevalidationOutcome } from './revalidation.js';
export { type RevokeOnDestroyOptions, type Revoker, revokeOnDestroy } from './store-hooks.js';
export type {
  CredentialHeaders,
  LifecycleOptions,
  RevocationBus,
  RevocationMessage,
  RevocationSubscriber,
  RevocationTarget,
  RevokeOptions,
} from './types.js';
