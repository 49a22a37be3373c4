using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Policy;
using Npgsql;

namespace AuthService.Api.TwoFactor.Methods;

/// <summary>The fields of a request that starts a factor (enroll, switch-method, add a factor) that a method reads.</summary>
public sealed record FactorTarget(string? Method, string? AccountName, string? DisplayName, string? PhoneNumber, string? Channel)
{
    public static FactorTarget Of(EnrollRequest r) => new(r.Method, r.AccountName, r.DisplayName, r.PhoneNumber, r.Channel);

    public static FactorTarget Of(SwitchMethodRequest r) => new(r.Method, r.AccountName, r.DisplayName, r.PhoneNumber, r.Channel);

    public static FactorTarget Of(AddFactorRequest r) => new(r.Method, r.AccountName, r.DisplayName, r.PhoneNumber, r.Channel);

    /// <summary>The method fields the request gave (null is absent), as JSON spells them.</summary>
    public IEnumerable<string> Given()
    {
        if (AccountName is not null)
        {
            yield return "accountName";
        }

        if (DisplayName is not null)
        {
            yield return "displayName";
        }

        if (PhoneNumber is not null)
        {
            yield return "phoneNumber";
        }

        if (Channel is not null)
        {
            yield return "channel";
        }
    }
}

/// <summary>A pending factor to start: for whom, why (<see cref="Core.Factors.PendingPurposes"/>), the target checked by
/// <see cref="IFactorMethod.TargetProblem"/>, a switch's or an addition's checked proof (spent when the pending row is stored),
/// and when the user's claim for the change lapses (<see cref="PendingFactors.ClaimedAsync{T}"/>; null without one): a method
/// that sends starts no send that could outlast it.</summary>
public sealed record FactorStart(string UserId, string Purpose, FactorTarget Target, CheckedProof? Proof, Guid? Actor, string? Label, DateTimeOffset Now,
    DateTimeOffset? ClaimLapsesAt = null);

/// <summary>A code offered as the proof of one of the user's factors, checked under the user's lock once the gate is open.</summary>
/// <param name="Factors">The user's factors of the method that may prove this stage (a removal's own factor excluded).</param>
public sealed record CodeAttempt(NpgsqlConnection Connection, NpgsqlTransaction Transaction, string UserId, IReadOnlyList<FactorRow> Factors,
    AttemptState State, AttemptLimits Limits, string Code, string Stage, DateTimeOffset Now, Guid? Actor);

/// <summary>One second-factor method (TOTP, phone, passkey…): everything that differs between methods — checking and starting a
/// new factor, confirming it, checking a code as a proof, describing a factor. Everything that does not differ — the user's
/// lock, the attempt gate, the failure ledger and lockout, single use, backup codes, the pending row's storage — is the proof
/// pipeline's (<see cref="ProofCheck"/>, <see cref="PendingConfirmation"/>, <see cref="PendingFactors"/>). Registered once
/// (<see cref="FactorMethodRegistry"/>); the shape of ASP.NET Core Identity's <c>IUserTwoFactorTokenProvider</c>.</summary>
public interface IFactorMethod
{
    /// <summary>The method's name as the API, the database and the audit trail spell it (<see cref="Core.Factors.FactorMethods"/>).</summary>
    string Name { get; }

    /// <summary>Whether a typed code can prove a factor of this method (<see cref="CheckCodeAsync"/>); a passkey cannot.</summary>
    bool AcceptsCodes => true;

    /// <summary>Whether starting a factor of this method sends something (a text, a call) before the change spends its proof:
    /// then a switch or an addition checks its proof and starts under the user's one claim for such a change
    /// (<see cref="ChangeProofs.StartProvedAsync"/>), so that one proof never pays for two sends.</summary>
    bool SendsOnStart => false;

    /// <summary>How many factors of this method a user may hold (<c>Factors:Max*</c>).</summary>
    int MaxPerUser { get; }

    /// <summary>The request fields of this method (as JSON spells them) on enroll, switch-method and add-factor. A field of another
    /// method is refused (400 <c>unknown_field</c>, <see cref="FactorMethodRegistry.TargetProblem"/>), as the request schemas'
    /// <c>oneOf</c> alternatives say (<c>RequestSchemasFilter</c> builds them from these lists).</summary>
    IReadOnlyCollection<string> RequestFields { get; }

    /// <summary>Why <paramref name="target"/> cannot be started (its fields, its destination, the method not configured), or null.
    /// Checked before anything is stored, sent or counted.</summary>
    Problem? TargetProblem(FactorTarget target);

    /// <summary>Starts a pending factor (a secret, a sent code, creation options) and stores it through
    /// <see cref="PendingFactors.StoreAsync(PendingRow, CheckedProof?, DateTimeOffset, Guid?, CancellationToken, Func{NpgsqlConnection, NpgsqlTransaction, Task}?)"/>.</summary>
    Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken cancellationToken);

    /// <summary>Checks the first <paramref name="code"/> of a pending factor of this method, under the user's lock with the gate open.
    /// A method confirmed otherwise (a passkey's attestation) refuses every code.</summary>
    Task<PendingCheck> CheckPendingCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow pending, string code,
        DateTimeOffset now);

    /// <summary>Checks a code against the user's factors of this method (<see cref="CodeAttempt.Factors"/>, never empty): the checked,
    /// unspent proof; or the method's own failed decision (a replayed TOTP step); or null when the code is not one of its.
    /// Throws what <see cref="StoredFactors.IsUnreadable"/> recognises when a stored secret cannot be used here.</summary>
    Task<MethodOutcome<CheckedProof>> CheckCodeAsync(CodeAttempt attempt);

    /// <summary>A factor as the API shows it: never a secret, a phone number masked.</summary>
    FactorView Describe(FactorRow factor) => new(factor.FactorId, factor.Method, factor.Label, factor.PhoneMasked, factor.Channel,
        Timestamps.Utc(factor.CreatedAt), factor.LastUsedAt is { } used ? Timestamps.Utc(used) : null, factor.IsDefault);
}
