// The types the sample portal's server is checked against (DESIGN §9.6). `make portal-typecheck` (part of `make test`)
// generates typecheck/generated/authservice.d.ts from openapi.yaml with openapi-typescript and runs `tsc --noEmit` over
// the server's modules (server.mjs, authservice.mjs, devices.mjs, webhooks.mjs), whose JSDoc names the types below.
//
// Every AuthService call goes through the openapi-fetch client `AuthServiceClient` (authservice.mjs), typed by `paths`:
// a path or method the contract lacks, a missing path parameter, a request body with a missing or mistyped member,
// and a read of a response member the contract no longer has fail the check. Not checked: a member a request body
// sends that the contract does not know, e.g. a misspelt optional one (openapi-fetch infers the call's options from the
// argument, so tsc makes no excess-property check: openapi-ts/openapi-typescript#2329; AuthService answers it with a
// 400, its schemas are `additionalProperties: false`), and what public/app.js (browser code, which talks only to the
// portal) reads from the answers the portal passes on. Types only: nothing here exists at run time.
import type { Client } from 'openapi-fetch';
import type { components, paths } from './typecheck/generated/authservice';

export type { paths };
export type Schemas = components['schemas'];
export type Problem = Schemas['ProblemDetails'];

/** The openapi-fetch client of openapi.yaml's paths (createClient<paths>()). */
export type AuthServiceClient = Client<paths>;

/** What an openapi-fetch call resolves to (its FetchResponse, either branch), as answer() reads it. */
export type ApiResult<T> = { data?: T; error?: unknown; response: Response };

/** What the page sent (query or JSON body): untrusted, read field by field. */
type Input = Record<string, any>;

/** Portal action ("POST /api/verify") -> the AuthService call it makes. */
export type PortalRoutes = Record<string, (input: Input) => Promise<ApiResult<unknown>>>;

/** A WebAuthn credential as the browser's credential.toJSON() gives it, either ceremony's (the portal forwards it). */
export type BrowserCredential = Schemas['RegistrationResponseJson'] & Schemas['AuthenticationResponseJson'];

/** A factor's own fields by method (enroll, switch, add): the contract's oneOf by `method`. */
export type MethodFields =
  | Pick<Schemas['TotpEnrollRequest'], 'method' | 'accountName'>
  | Pick<Schemas['PhoneEnrollRequest'], 'method' | 'phoneNumber' | 'channel'>
  | Pick<Schemas['PasskeyEnrollRequest'], 'method' | 'accountName' | 'displayName'>;

/** A refusal as the page gets it: AuthService's problem+json, or the portal's own 502 when AuthService is unreachable. */
export type PageProblem = { status: number; code?: string; title?: string; detail: string; retryAfter?: number };

/** What answer() resolves to: the status and body for the page, and the call as the log names it. */
export type Answer<T> = { status: number; asked: string; headers?: Record<string, string> } & (
  | { ok: true; body: T }
  | { ok: false; body: PageProblem }
);

export interface AuthService {
  api: AuthServiceClient;
  answer<T>(call: Promise<ApiResult<T>>): Promise<Answer<T>>;
}
