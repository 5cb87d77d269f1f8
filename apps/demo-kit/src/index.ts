export { clientScript, clientScriptType, demoRejections } from './client-script.js';
export { announceListening, type DemoConfig, readConfig } from './config.js';
export { type ClientError, clientError } from './errors.js';
export { demoPage } from './page.js';
export {
  apiKeyFrom,
  type DemoUser,
  findByApiKey,
  findById,
  setUserDeleted,
  unauthorizedBody,
  verifyPassword,
} from './users.js';
