// The express-session + passport setup shared by the hand-written, wsauth and express-ws servers.
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import session, { type SessionData, Store } from 'express-session';
import passport from 'passport';
import { ALICE, type BenchUser, SESSION_SECRET, withLatency } from './common.js';
import { BenchSessions, type SessionStorage } from './sessions.js';

/**
 * An express-session store on the bench sessions. It replaces MemoryStore (which warns under
 * NODE_ENV=production) and, with Redis storage, connect-redis.
 */
class BenchStore extends Store {
  readonly #sessions: BenchSessions;

  constructor(storage?: SessionStorage) {
    super();
    this.#sessions = new BenchSessions(storage);
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    this.#sessions.get(sid).then(
      (session) => callback(null, (session as SessionData | undefined) ?? null),
      (error: unknown) => callback(error),
    );
  }

  override set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void {
    this.#sessions.set(sid, session).then(() => callback?.(), callback);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.#sessions.destroy(sid).then(() => callback?.(), callback);
  }
}

passport.serializeUser((user, done) => {
  done(null, (user as BenchUser).id);
});
passport.deserializeUser((id: string, done) => {
  withLatency(() => done(null, id === ALICE.id ? ALICE : false));
});

/** The middleware an Express app of the bench uses. */
export interface ExpressAuth {
  store: Store;
  session: RequestHandler;
  passportSession: RequestHandler;
  /** Responds 401 with JSON unless passport restored a user. */
  requireUser: RequestHandler;
  /** Logs `ALICE` in and responds 204. */
  login: RequestHandler;
  /** Logs out, which destroys the session through passport's regeneration, and responds 204. */
  logout: RequestHandler;
}

/** Creates the session middleware and passport's session strategy with a counting store. */
export function createExpressAuth(storage?: SessionStorage): ExpressAuth {
  const store = new BenchStore(storage);
  return {
    store,
    session: session({
      secret: SESSION_SECRET,
      store,
      resave: false,
      saveUninitialized: false,
    }),
    passportSession: passport.session(),
    requireUser: (req: Request, res: Response, next: NextFunction) => {
      if (req.user === undefined) {
        res.status(401).json({ error: 'unauthorized' });
        return;
      }
      next();
    },
    login: (req: Request, res: Response, next: NextFunction) => {
      req.login(ALICE, (error) => {
        if (error) {
          next(error);
          return;
        }
        res.status(204).end();
      });
    },
    logout: (req: Request, res: Response, next: NextFunction) => {
      req.logout((error) => {
        if (error) {
          next(error);
          return;
        }
        res.status(204).end();
      });
    },
  };
}

/** Creates an Express app with the session, passport's session strategy, `POST /login` and `/logout`. */
export function createExpressApp(storage?: SessionStorage): { app: Express; auth: ExpressAuth } {
  const auth = createExpressAuth(storage);
  const app = express();
  app.use(auth.session, auth.passportSession);
  app.post('/login', auth.login);
  app.post('/logout', auth.logout);
  return { app, auth };
}
