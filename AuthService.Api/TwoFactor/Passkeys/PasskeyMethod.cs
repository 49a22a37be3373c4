using System.Security.Cryptography;
using AuthService.Api.Configuration;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Core.Factors;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor.Passkeys;

/// <summary>A passkey (WebAuthn, DESIGN §8.4): a pending factor starts with a registration challenge (5 minutes, single use,
/// bound to that pending row) and is confirmed by the attestation (<see cref="PasskeyEnrollment"/>); a proof is an assertion
/// (<see cref="PasskeyVerification"/>), never a code. Each credential is a factor of its own.</summary>
public sealed class PasskeyMethod(NpgsqlDataSource dataSource, PendingFactors pending, PasskeyCeremonies ceremonies,
    IOptions<FactorOptions> factorOptions, TimeProvider time) : IFactorMethod
{
    public string Name => FactorMethods.Passkey;

    public int MaxPerUser => factorOptions.Value.MaxPasskey;

    public static readonly string[] Fields = ["accountName", "displayName"];

    public IReadOnlyCollection<string> RequestFields => Fields;

    public bool AcceptsCodes => false;

    /// <summary>Passkeys configured, and what the authenticator will show short and printable.</summary>
    public Problem? TargetProblem(FactorTarget target) =>
        !ceremonies.Enabled ? PasskeyProblems.NotConfigured
        : IsLabel(target.AccountName) && IsLabel(target.DisplayName) ? null
        : Problems.Validation($"accountName and displayName must be at most {Core.Text.PrintableText.MaxLength} characters without control characters.");

    public async Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken ct)
    {
        var userId = start.UserId;
        var name = string.IsNullOrWhiteSpace(start.Target.AccountName) ? userId : start.Target.AccountName.Trim();
        var shown = string.IsNullOrWhiteSpace(start.Target.DisplayName) ? name : start.Target.DisplayName.Trim();
        var now = time.GetUtcNow();
        IReadOnlyList<PasskeyCredentialRow> existing;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            existing = await PasskeyStore.GetCredentialsAsync(connection, null, userId);
        }

        var (options, challenge, stored) = ceremonies.NewRegistration(RandomNumberGenerator.GetBytes(32), name, shown, existing);
        var expiresAt = now + PasskeyOptions.ChallengeLifetime;
        var row = PendingFactors.New(start with { Now = now }, Name, PasskeyOptions.ChallengeLifetime);
        var refused = await pending.StoreAsync(row, start.Proof, now, start.Actor, ct,
            (connection, transaction) => PasskeyStore.PutChallengeAsync(connection, transaction, new PasskeyChallengeRow
            {
                UserId = userId,
                Ceremony = PasskeyStore.Registration,
                Purpose = PasskeyStore.PendingPurpose,
                PendingId = row.Id,
                Challenge = challenge,
                Options = stored,
                CreatedAt = now.UtcDateTime,
                ExpiresAt = expiresAt.UtcDateTime,
            }));
        return refused is not null
            ? refused
            : new PendingStarted(null, null, new PasskeyEnrollmentResponse(Name, options, expiresAt, row.Id));
    }

    /// <summary>A passkey is confirmed by its attestation, never by a code: a code is a failed attempt like any wrong one.</summary>
    public Task<PendingCheck> CheckPendingCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow row, string code,
        DateTimeOffset now) => Task.FromResult(PendingCheck.Refused);

    /// <summary>A passkey proves with an assertion (<see cref="PasskeyVerification"/>), never a code.</summary>
    public Task<MethodOutcome<CheckedProof>> CheckCodeAsync(CodeAttempt attempt) => Task.FromResult(MethodOutcome<CheckedProof>.NoMatch);

    private static bool IsLabel(string? value) => value is null || Core.Text.PrintableText.IsValid(value);
}
