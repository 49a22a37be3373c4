using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Profiles;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using AuthService.Core.Security;
using AuthService.Core.Totp;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor.Methods.Totp;

/// <summary>TOTP (RFC 6238): a secret sealed at rest and shown once as an otpauth URI and QR code; confirmed by its first code;
/// a code checked against every TOTP factor of the user, each with its own replay guard (<see cref="ProofDecisions.TotpAny"/>).
/// A login with only TOTP factors takes the coalesced batch (<see cref="ProofCheck"/>) with the same decision and the same
/// acceptance statement (<see cref="Acceptance"/>).</summary>
public sealed class TotpMethod(PendingFactors pending, SecretBox secrets, IOptions<AuthOptions> authOptions, IOptions<TotpOptions> totpOptions,
    IOptions<FactorOptions> factorOptions) : IFactorMethod
{
    public const int MaxAccountNameLength = 256;

    public string Name => FactorMethods.Totp;

    public int MaxPerUser => factorOptions.Value.MaxTotp;

    public static readonly string[] Fields = ["accountName"];

    public IReadOnlyCollection<string> RequestFields => Fields;

    /// <summary>The account name as it goes into the otpauth URI (percent-encoded UTF-8), at most this long: 256 characters of
    /// three UTF-8 bytes each would take 2,304, and the URI must still fit in a QR code (2,331 bytes at level M).</summary>
    public const int MaxEncodedAccountNameLength = 1024;

    public Problem? TargetProblem(FactorTarget target) =>
        target.AccountName is not null && !Core.Text.PrintableText.IsValid(target.AccountName, MaxAccountNameLength)
            ? Problems.Validation($"accountName must be at most {MaxAccountNameLength} characters without control characters.")
            : target.AccountName is not null && Uri.EscapeDataString(target.AccountName.Trim()).Length > MaxEncodedAccountNameLength
                ? Problems.Validation($"accountName must be at most {MaxEncodedAccountNameLength} characters once URL-encoded (the otpauth URI must fit in a QR code).")
                : null;

    /// <summary>The account name an app shows: the one given, else the user id, with its colons written as dots. The otpauth
    /// label is <c>issuer:account</c> and may hold no other colon, not even as <c>%3A</c> (Key Uri Format); an account name with
    /// one was accepted before, so it is written so rather than refused.</summary>
    private static string AccountOf(FactorStart start) =>
        (string.IsNullOrWhiteSpace(start.Target.AccountName) ? start.UserId : start.Target.AccountName.Trim()).Replace(':', '.');

    public async Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken cancellationToken)
    {
        var totp = totpOptions.Value;
        var profile = ProfileContext.Profile?.Totp ?? totp.Profile; // DESIGN §9.5: the caller key's profile, for new enrollments
        var secret = TotpSecrets.Generate();
        var row = PendingFactors.New(start, Name, totp.EnrollmentTtl) with
        {
            TotpSecret = secrets.Seal(secret, SealContexts.TotpSecret(start.UserId)),
            TotpAlgorithm = profile.AlgorithmName,
            TotpDigits = profile.Digits,
            TotpPeriod = profile.PeriodSeconds,
        };
        // What the answer shows is built before anything is stored: a URI that cannot be drawn must fail before the proof is spent.
        var uri = OtpAuthUri.Build(ProfileContext.Profile?.Brand ?? authOptions.Value.Issuer, AccountOf(start), secret, profile);
        var (svg, png) = QrCodes.Render(uri);
        if (await pending.StoreAsync(row, start.Proof, start.Now, start.Actor, cancellationToken) is { } refused)
        {
            return refused;
        }

        return new PendingStarted(
            new TotpEnrollmentResponse(Name, TotpSecrets.ToBase32(secret), uri, svg, png, Timestamps.Utc(row.ExpiresAt), row.Id), null);
    }

    public Task<PendingCheck> CheckPendingCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow row, string code,
        DateTimeOffset now)
    {
        var check = TotpVerifier.Verify(secrets.OpenTotpSecret(row), row.Profile(), code, now, -1);
        return Task.FromResult(new PendingCheck(check.Accepted, check.Step));
    }

    public Task<MethodOutcome<CheckedProof>> CheckCodeAsync(CodeAttempt attempt)
    {
        var (decision, matched) = ProofDecisions.TotpAny(attempt.State, attempt.Limits, attempt.Now, Candidates(secrets, attempt.Factors), attempt.Code);
        if (!decision.IsAccepted)
        {
            return Task.FromResult(MethodOutcome<CheckedProof>.Refuse(decision: decision));
        }

        var factor = attempt.Factors[matched];
        return Task.FromResult<MethodOutcome<CheckedProof>>(new CheckedProof(factor.FactorId, Name, attempt.Stage, decision.DriftSteps,
            (c, t, at) => AttemptLedger.TryAcceptTotpStepAsync(c, t, Acceptance(attempt.Limits, factor, decision, attempt.Stage, at, attempt.Actor))));
    }

    /// <summary>The user's TOTP factors as <see cref="ProofDecisions.TotpAny"/> checks them: each secret opened only once the gate
    /// is open, each with its own last accepted step (<paramref name="lastSteps"/>: as a batch moved them).</summary>
    internal static List<TotpCandidate> Candidates(SecretBox secrets, IReadOnlyList<FactorRow> totp, IReadOnlyDictionary<Guid, long>? lastSteps = null) =>
        totp.Select(f => new TotpCandidate(() => secrets.OpenTotpSecret(f), f.Profile,
            lastSteps is not null && lastSteps.TryGetValue(f.FactorId, out var step) ? step : f.LastTotpStep)).ToList();

    /// <summary>A TOTP code that passed <see cref="ProofDecisions.TotpAny"/> against <paramref name="factor"/>'s secret, ready for the
    /// one statement that accepts it under the limits as they stand at that moment.</summary>
    internal static AttemptLedger.TotpAcceptance Acceptance(AttemptLimits limits, FactorRow factor, ProofDecision decision, string stage,
        DateTimeOffset now, Guid? actor) =>
        new(factor.UserId, factor.FactorId, decision.Step, now, now - AttemptLimits.Window, limits.AttemptsPerMinute, actor,
            AuditLog.Details(new AuditEvent.VerificationSucceeded(FactorMethods.Totp, stage, DriftSteps: decision.DriftSteps, FactorId: factor.FactorId)));
}
