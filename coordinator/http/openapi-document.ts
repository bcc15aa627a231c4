// Turns the app's route definitions into an OpenAPI 3.1 document: the description is generated from
// the same list the app registers, so it cannot drift from the routes.
import { type ApiErrorCode, apiErrorBodySchema } from '../../services/api/api-error-body.ts';
import { API_ERROR_STATUS } from './api-error.ts';
import type { RouteAuth, RouteDefinition } from './route.ts';

/** Hono's `/v1/builds/:id` → OpenAPI's `/v1/builds/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The `:name` parameters of a hono path, in order. */
export function pathParameterNames(honoPath: string): string[] {
  return [...honoPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An rbnet token: `rbnet_admin_…` (scopes admin, submit), `rbnet_maintainer_…` (submit) or a single-use `rbnet_enrolment_…` (enrol). The requirement lists the scope needed.',
  },
  RbnetWorker: {
    type: 'http',
    scheme: 'RbnetWorker',
    description:
      "`Authorization: RbnetWorker id=<workerId>,ts=<ms>,nonce=<b64url>,len=<body bytes>,sha256=<body sha256>,sig=<b64>`: an ed25519 signature by the worker's enrolled auth key over `rbnet-auth-v2\\n<workerId>\\n<origin>\\n<nonce>\\n<ms>\\n<METHOD> <path>\\n<body sha256>\\n<body bytes>`; checked before any of the body is read, which is then read up to `len` and must match; ±120 s, each nonce once, at most RBNET_MAX_WORKER_REQUESTS_PER_WINDOW per worker and window (docs/api.md).",
  },
  RbnetProof: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Rbnet-Proof',
    description:
      "Enrolment only: the same signed proof as RbnetWorker, made with the auth key being enrolled over the body, proving possession of it (the body carries the signing key's own proof).",
  },
} as const;

/** The OpenAPI security requirement for one way of authenticating (3.1 allows role names for any scheme). */
function securityFor(auth: RouteAuth): Record<string, string[]> {
  switch (auth) {
    case 'none':
      return {};
    case 'admin':
      return { bearer: ['admin'] };
    case 'submit':
      return { bearer: ['submit'] };
    case 'enrolment':
      return { bearer: ['enrol'], RbnetProof: [] };
    case 'worker':
      return { RbnetWorker: [] };
  }
}

/** A route's error codes grouped by the status each answers, in the route's order; 500 INTERNAL last. */
export function errorCodesByStatus(codes: readonly ApiErrorCode[]): [string, ApiErrorCode[]][] {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = API_ERROR_STATUS[code];
    if (status !== 500) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [
    ...[...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]): [string, ApiErrorCode[]] => [String(status), list]),
    ['500', ['INTERNAL']],
  ];
}

function operationFor(route: RouteDefinition): Record<string, unknown> {
  const parameters = [
    ...pathParameterNames(route.path).map((param) => ({
      name: param,
      in: 'path',
      required: true,
      description: route.pathParams?.[param]?.description,
      schema: route.pathParams?.[param]?.schema ?? { type: 'string' },
    })),
    ...Object.entries(route.query ?? {}).map(([param, spec]) => ({
      name: param,
      in: 'query',
      required: spec.required ?? false,
      description: spec.description,
      schema: spec.schema,
    })),
  ];
  const responses: Record<string, unknown> = {};
  for (const response of route.answers) {
    responses[String(response.status)] = {
      description: response.description,
      ...(response.contentType
        ? {
            content: {
              [response.contentType]: {
                schema: response.schema ?? {},
                ...(response.example !== undefined && { example: response.example }),
              },
            },
          }
        : {}),
    };
  }
  for (const [status, codes] of errorCodesByStatus(route.errors)) {
    responses[status] = {
      description: `error: ${codes.join(', ')}`,
      'x-rbnet-error-codes': codes,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    // An empty requirement object means "no authentication"; `security: [{}]` would read as optional auth.
    security: route.auth.includes('none') ? [] : route.auth.map(securityFor),
    'x-rbnet-auth': route.auth,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.request
      ? {
          requestBody: {
            required: true,
            description: route.request.description,
            content: {
              [route.request.contentType]: {
                schema: route.request.schema,
                ...(route.request.example !== undefined && { example: route.request.example }),
              },
            },
          },
        }
      : {}),
    responses,
  };
}

/**
 * Builds the OpenAPI 3.1 document for `routes`.
 * @param options.version the rbnet version (info.version)
 * @param options.serverUrl the coordinator's public URL (servers[0])
 */
export function buildOpenApiDocument(
  routes: readonly RouteDefinition[],
  options: { readonly version: string; readonly serverUrl: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = operationFor(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'rbnet coordinator API',
      version: options.version,
      description:
        'Every error is {"error": {"code", "message"}} with a stable code (docs/api.md). Generated from the route definitions in coordinator/http/routes/.',
    },
    servers: [{ url: options.serverUrl }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: { schemas: { Error: apiErrorBodySchema }, securitySchemes },
  };
}
