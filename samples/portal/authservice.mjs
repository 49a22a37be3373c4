// The sample portal's one way to AuthService: an openapi-fetch client typed by openapi.yaml (DESIGN §9.6), and
// `answer()`, which turns what a call resolved to into what the page gets.
//
// Every call is written against the contract's own paths, e.g.
//   answer(api.POST('/v1/users/{userId}/two-factor/verify', { params: { path: { userId } }, body }))
// so `make portal-typecheck` (tsc over this JSDoc, types from openapi-typescript) refuses a path or method the contract
// lacks, a missing path parameter, a request body of the wrong shape, and a read of a response member it lost.
import createClient from 'openapi-fetch';

/** The path parameters of a user's calls: the user id as the page sent it (openapi-fetch percent-encodes it). */
export const ofUser = (b) => ({ path: { userId: String(b.userId ?? '') } });

/** fetch() itself failed (no connection, DNS, the 45 s timeout): AuthService never answered. */
class Unreachable extends Error {
  /** @param {Request} request @param {any} error */
  constructor(request, error) {
    super(error?.cause?.code || error?.message, { cause: error });
    this.request = request;
  }
}

/**
 * The client and its answer() for the AuthService at `baseUrl` (no trailing slash), authenticated with `apiKey`.
 * @param {string} baseUrl @param {string} apiKey @returns {import('./contract').AuthService}
 */
export function connect(baseUrl, apiKey) {
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  /** @type {WeakMap<Response, Request>} the request each answer is for (the log line names it) */
  const requestOf = new WeakMap();

  /** @type {import('./contract').AuthServiceClient} */
  const api = createClient({
    baseUrl,
    // Content-Type: application/json comes with a body (openapi-fetch sets it only then).
    headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
    fetch: async (request) => {
      // A POST without a request body (prompt/skip, devices/revoke-all) still sends `{}`, as the portal always has.
      const sent = request.method === 'POST' && request.body === null ? new Request(request, { body: '{}' }) : request;
      let response;
      try {
        // Above AuthService's longest answer: a code send waits up to the number lookup's and the send's timeouts (15 s each
        // by default) when Telnyx is slow; a portal that gave up first would show an error while the text still goes out.
        response = await fetch(sent, { signal: AbortSignal.timeout(45000) });
      } catch (e) {
        throw new Unreachable(sent, e);
      }
      requestOf.set(response, sent);
      return response;
    },
  });

  // "POST /v1/users/…/two-factor/verify": the call as the log shows it, without the user id.
  /** @param {Request | undefined} request */
  const asked = (request) => (request ? `${request.method} ${new URL(request.url).pathname.slice(basePath.length)
    .replace(/\/users\/[^/]+/, '/users/…')}` : '?');

  /**
   * What the page gets for one call: the answer's status and JSON body (`{}` when it has none). A problem+json answer
   * becomes {status, code, title, detail, retryAfter?}: the page shows `detail` as it is (AuthService's exact wording,
   * e.g. the rate-limit messages), and `Retry-After` is passed on.
   * @template T
   * @param {Promise<import('./contract').ApiResult<T>>} call an openapi-fetch call, e.g. api.GET(...)
   * @returns {Promise<import('./contract').Answer<T>>}
   */
  async function answer(call) {
    let result;
    try {
      result = await call;
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      console.error(`AuthService unreachable at ${baseUrl}: ${e.message}`);
      return { ok: false, status: 502, asked: asked(e.request), body: { status: 502, code: 'authservice_unreachable',
        detail: 'The sign-in service cannot be reached right now. Please try again shortly.' } };
    }
    const { data, error, response } = result;
    if (response.ok) {
      return { ok: true, status: response.status, asked: asked(requestOf.get(response)),
        body: data === undefined ? /** @type {T} */ ({}) : data };
    }
    // openapi-fetch gives the parsed JSON, the text when it is not JSON, or undefined when there is no body.
    /** @type {Partial<import('./contract').Problem>} */
    const problem = error !== null && typeof error === 'object' ? error : {};
    const retryAfter = response.headers.get('retry-after');
    if (response.status === 401 || response.status === 403) {
      // The person can do nothing about the portal's own key: say so in the log, keep the page's message plain.
      console.error(`AuthService refused the portal's API key (${response.status} ${problem.code ?? ''}): `
        + 'check AUTHSERVICE_API_KEY and its scopes.');
    }
    return {
      ok: false,
      status: response.status,
      asked: asked(requestOf.get(response)),
      body: {
        status: response.status,
        code: problem.code,
        title: problem.title,
        detail: problem.detail || problem.title || `AuthService answered ${response.status}.`,
        ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}),
      },
      headers: retryAfter ? { 'Retry-After': retryAfter } : {},
    };
  }

  return { api, answer };
}
