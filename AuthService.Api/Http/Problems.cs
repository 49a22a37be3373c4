using Microsoft.AspNetCore.Http.HttpResults;

namespace AuthService.Api.Http;

/// <summary>An expected failure of an operation: becomes an RFC 9457 problem with a stable <c>code</c>.</summary>
public sealed record Problem(int Status, string Code, string Title, string Detail, TimeSpan? RetryAfter = null)
{
    public ProblemHttpResult ToResult() => Problems.Result(Status, Code, Title, Detail);
}

/// <summary>Every error answer of the API, in one place, so codes and wording stay stable.</summary>
public static class Problems
{
    public const string TypeBase = "https://authservice.dev/problems/";

    public static ProblemHttpResult Result(int status, string code, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeBase + code,
            extensions: new Dictionary<string, object?> { ["code"] = code });

    public static Problem Validation(string detail) => new(400, "validation_failed", "The request is invalid.", detail);

    public static readonly Problem InvalidUserId = new(400, "invalid_user_id", "The user id is invalid.",
        "userId must be 1–128 characters of A–Z, a–z, 0–9 and . _ : @ -.");

    public static readonly Problem InvalidCode = new(422, "invalid_code", "The code is not valid.",
        "The code is wrong, expired or has already been used.");

    public static readonly Problem NotEnabled = new(409, "two_factor_not_enabled", "Two-factor authentication is not enabled.",
        "This user has no enabled second factor.");

    public static readonly Problem AlreadyEnabled = new(409, "two_factor_already_enabled", "Two-factor authentication is already enabled.",
        "Use switch-method to change the method.");

    public static readonly Problem NoPendingEnrollment = new(409, "no_pending_enrollment", "Nothing is waiting for confirmation.",
        "There is no pending enrollment, or it expired. Start again with enroll.");

    public static readonly Problem Locked = new(423, "locked", "The second factor is locked.",
        "Too many failed attempts. Contact support to reset two-factor authentication.");
}
