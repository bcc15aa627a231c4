// A route, described once: method, path, who may call it, what it reads and answers (the schemas the
// OpenAPI document is generated from) and its handler, side by side. The app registers exactly these
// definitions and puts each route's authentication in front of it from `auth`, so what the document
// says about a route is what the app does.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ApiErrorCode } from '../../services/api/api-error-body.ts';
import type { JsonSchema } from '../../services/api/wire-type.ts';
import { InvariantError } from '../../services/errors.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { type AuthVariables, requireBlobWriter, requireToken, requireWorker } from './auth-middleware.ts';

/** The coordinator app's environment: what authentication leaves in the context. */
export type AppEnv = { Variables: AuthVariables };

/**
 * Who may call a route. `none` is public; a route listing several accepts any one of them.
 * `enrolment` routes authenticate in their handler (the token is checked before the body, then the
 * proof over it).
 */
export type RouteAuth = 'none' | 'admin' | 'submit' | 'worker' | 'enrolment';

export type RouteTag =
  | 'health'
  | 'admin'
  | 'workers'
  | 'content'
  | 'builds'
  | 'transparency'
  | 'apt'
  | 'alerts'
  | 'operations';

export interface RouteParameter {
  readonly description: string;
  readonly schema: JsonSchema;
  /** Query parameters only; path parameters are always required. */
  readonly required?: boolean;
}

export interface RouteBody {
  readonly contentType: string;
  readonly description: string;
  readonly schema: JsonSchema;
  /** A body a client can send as it is (the OpenAPI media type's `example`). */
  readonly example?: unknown;
}

export interface RouteAnswer {
  readonly status: 200 | 201 | 202;
  readonly description: string;
  /** Absent for an answer without a body. */
  readonly contentType?: string;
  readonly schema?: JsonSchema;
  /** An answer as the coordinator writes it (the OpenAPI media type's `example`). */
  readonly example?: unknown;
}

/** What a route's handler is made from, once per app. */
export interface RouteContext {
  readonly deps: CoordinatorDeps;
  /** Every route of the app (the OpenAPI route describes them). */
  readonly routes: readonly RouteDefinition[];
}

export type RouteHandler = (c: Context<AppEnv>) => Response | Promise<Response>;

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Hono form: `/v1/builds/:id`. */
  readonly path: string;
  /** Unique, camelCase; the OpenAPI operationId. */
  readonly operationId: string;
  readonly tag: RouteTag;
  readonly summary: string;
  readonly description?: string;
  /** Alternatives: any one suffices. `['none']` for public routes. */
  readonly auth: readonly RouteAuth[];
  /** One entry per `:name` in the path. */
  readonly pathParams?: Readonly<Record<string, RouteParameter>>;
  readonly query?: Readonly<Record<string, RouteParameter>>;
  readonly request?: RouteBody;
  readonly answers: readonly RouteAnswer[];
  /** Codes the route refuses with (each answers its status from the one table; 500 INTERNAL always). */
  readonly errors: readonly ApiErrorCode[];
  /** Makes the handler, once per app: per-app state (a cache) lives in its closure. */
  readonly handler: (context: RouteContext) => RouteHandler;
}

/** What a worker's proof can be refused with (docs/api.md, "Authentication"). */
export const WORKER_AUTH_ERRORS = [
  'AUTH_MISSING',
  'AUTH_INVALID',
  'AUTH_REPLAYED',
  'AUTH_BODY_MISMATCH',
  'AUTH_RATE_LIMITED',
] as const satisfies readonly ApiErrorCode[];

export const JSON_CONTENT = 'application/json';

/** The authentication in front of a route, from its `auth`. */
function authenticationFor(
  route: RouteDefinition,
  deps: CoordinatorDeps,
): readonly MiddlewareHandler<AppEnv>[] {
  switch (route.auth.join(' or ')) {
    case 'none':
    case 'enrolment':
      return [];
    case 'admin':
      return [requireToken(deps, 'admin')];
    case 'submit':
      return [requireToken(deps, 'submit')];
    case 'worker':
      return [requireWorker(deps, 'json')];
    case 'submit or worker':
      return [requireBlobWriter(deps)];
    default:
      throw new InvariantError(
        'INVARIANT',
        `${route.method} ${route.path}: no authentication for ${route.auth.join(' or ')}`,
      );
  }
}

/** Registers every route, in order, behind its authentication. */
export function registerRoutes(
  app: Hono<AppEnv>,
  deps: CoordinatorDeps,
  routes: readonly RouteDefinition[],
): void {
  const context: RouteContext = { deps, routes };
  for (const route of routes) {
    app.on(route.method, [route.path], ...authenticationFor(route, deps), route.handler(context));
  }
}
