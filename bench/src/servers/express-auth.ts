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
import { ALICE, type BenchUser, counters, SESSION_SECRET, withLatency } from './common.js';

/**
 * An in-memory session store that counts reads and adds the injected latency to each. It stands
 * in for MemoryStore, which prints a warning under NODE_ENV=production.
 */
class BenchStore extends Store {
  readonly #sessions = new Map<string, string>();

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    counters.storeReads++;
    withLatency(() => {
      const json = this.#sessions.get(sid);
      callback(null, json === undefined ? null : (JSON.parse(json) as SessionData));
    });
  }

  override set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void {
    this.#sessions.set(sid, JSON.stringify(session));
    callback?.();
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.#sessions.delete(sid);
    callback?.();
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
  session: RequestHandler;
  passportSession: RequestHandler;
  /** Answers 401 JSON unless passport restored a user. */
  requireUser: RequestHandler;
  /** Logs `ALICE` in and answers 204. */
  login: RequestHandler;
}

/** Creates the session middleware and passport's session strategy with a counting store. */
export function createExpressAuth(): ExpressAuth {
  return {
    session: session({
      secret: SESSION_SECRET,
      store: new BenchStore(),
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
  };
}

/** An Express app with the session, passport's session strategy and `POST /login`. */
export function createExpressApp(): { app: Express; auth: ExpressAuth } {
  const auth = createExpressAuth();
  const app = express();
  app.use(auth.session, auth.passportSession);
  app.post('/login', auth.login);
  return { app, auth };
}
