// The sample portal's calls, typed from openapi.yaml (DESIGN §9.6). `make portal-typecheck` (part of `make test`)
// generates typecheck/generated/authservice.d.ts with openapi-typescript and runs `tsc --noEmit` over server.mjs and
// webhooks.mjs, whose JSDoc names the types below: a request body the contract refuses, or a response field the
// portal reads that the contract no longer has, fails the build. No runtime code: the portal stays plain Node.js.
import type { components } from './typecheck/generated/authservice';

export type Schemas = components['schemas'];
export type Problem = Schemas['ProblemDetails'];

/** What the page sent (query or JSON body): untrusted, read field by field. */
type Input = Record<string, any>;
type Call<Body = never> = [Body] extends [never] ? [method: string, path: string] : [method: string, path: string, body: Body];

/** Portal action -> the AuthService call it makes, with the request schema of that operation. */
export interface PortalRoutes {
  'GET /api/status': (q: Input) => Call;
  'POST /api/login-decision': (b: Input) => Call<Schemas['LoginDecisionRequest']>;
  'POST /api/enroll': (b: Input) => Call<Schemas['EnrollRequest']>;
  'POST /api/confirm': (b: Input) => Call<Schemas['CodeRequest']>;
  'POST /api/challenge': (b: Input) => Call<Schemas['ChallengeRequest']>;
  'POST /api/verify': (b: Input) => Call<Schemas['VerifyRequest']>;
  'POST /api/switch': (b: Input) => Call<Schemas['SwitchMethodRequest']>;
  'POST /api/switch/confirm': (b: Input) => Call<Schemas['CodeRequest']>;
  'GET /api/backup-codes': (q: Input) => Call;
  'POST /api/backup-codes': (b: Input) => Call<Schemas['ProofRequest']>;
  'POST /api/skip': (b: Input) => Call;
  'POST /api/factors': (b: Input) => Call<Schemas['AddFactorRequest']>;
  'POST /api/factors/confirm': (b: Input) => Call<Schemas['CodeRequest']>;
  'PATCH /api/factors': (b: Input) => Call<Schemas['UpdateFactorRequest']>;
  'DELETE /api/factors': (b: Input) => Call<Schemas['ProofRequest']>;
  'GET /api/devices': (q: Input) => Call;
  'DELETE /api/devices': (b: Input) => Call;
  'POST /api/devices/revoke-all': (b: Input) => Call;
  [route: string]: (input: Input) => [method: string, path: string, body?: unknown];
}

/** A WebAuthn credential as the browser's credential.toJSON() gives it, either ceremony's (the portal forwards it). */
export type BrowserCredential = Schemas['RegistrationResponseJson'] & Schemas['AuthenticationResponseJson'];

/** A factor's own fields by method (enroll, switch, add): the contract's oneOf by `method`. */
export type MethodFields =
  | Pick<Schemas['TotpEnrollRequest'], 'method' | 'accountName'>
  | Pick<Schemas['PhoneEnrollRequest'], 'method' | 'phoneNumber' | 'channel'>
  | Pick<Schemas['PasskeyEnrollRequest'], 'method' | 'accountName' | 'displayName'>;

/** What server.mjs's callAuthService resolves to: the answer's status and JSON body. */
export type Answer<T> = { status: number; body: T; headers?: Record<string, string> };

/** callAuthService as webhooks.mjs uses it: the webhook calls' answers typed from the contract. */
export interface CallAuthService {
  (method: 'GET', path: '/v1/webhooks'): Promise<Answer<Schemas['WebhookListResponse']>>;
  (method: 'POST', path: '/v1/webhooks', body: Schemas['CreateWebhookRequest']): Promise<Answer<Schemas['CreatedWebhookResponse'] & Partial<Problem>>>;
  (method: 'DELETE', path: string): Promise<Answer<unknown>>;
}
