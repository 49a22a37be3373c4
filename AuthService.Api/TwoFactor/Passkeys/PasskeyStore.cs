using Dapper;
using Npgsql;

namespace AuthService.Api.TwoFactor.Passkeys;

public sealed record PasskeyCredentialRow
{
    public byte[] CredentialId { get; init; } = [];
    public string UserId { get; init; } = "";

    /// <summary>The factor this credential is (each passkey is a factor of its own, DESIGN §9.2).</summary>
    public Guid FactorId { get; init; }
    public byte[] PublicKey { get; init; } = [];
    public long SignCount { get; init; }
    public string[] Transports { get; init; } = [];
    public Guid Aaguid { get; init; }
    public byte[] UserHandle { get; init; } = [];
    public string AttestationFmt { get; init; } = "";
    public bool BackupEligible { get; init; }
    public bool BackedUp { get; init; }
    public DateTime CreatedAt { get; init; }
}

public sealed record PasskeyChallengeRow
{
    public string UserId { get; init; } = "";
    public string Ceremony { get; init; } = "";

    /// <summary><c>login</c> or <c>proof</c> for an authentication (DESIGN §9.1), <c>pending</c> for a registration.</summary>
    public string Purpose { get; init; } = "";

    public Guid? PendingId { get; init; }

    /// <summary>An authentication challenge: the one passkey factor it was issued for, or null for every passkey of the user.</summary>
    public Guid? FactorId { get; init; }

    public byte[] Challenge { get; init; } = [];
    public string Options { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
}

/// <summary>The SQL of passkey credentials and challenges. Single use of a challenge and the signature counter's
/// monotony are each one conditional statement.</summary>
public static class PasskeyStore
{
    public const string Registration = "registration";
    public const string Authentication = "authentication";

    /// <summary>The purpose of a registration challenge (bound to its pending row by <see cref="PasskeyChallengeRow.PendingId"/>).</summary>
    public const string PendingPurpose = "pending";

    private const string ChallengeColumns = "user_id, ceremony, purpose, pending_id, factor_id, challenge, options, created_at, expires_at";

    private const string CredentialColumns = """
        credential_id, user_id, factor_id, public_key, sign_count, transports, aaguid, user_handle, attestation_fmt,
        backup_eligible, backed_up, created_at
        """;

    /// <summary>Issues the user's challenge of <paramref name="challenge"/>'s ceremony and purpose, replacing (killing) the
    /// previous one: one registration challenge per user, that of the newest passkey being registered.</summary>
    public static Task PutChallengeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, PasskeyChallengeRow challenge) =>
        connection.ExecuteAsync($"""
            insert into passkey_challenges ({ChallengeColumns})
            values (@UserId, @Ceremony, @Purpose, @PendingId, @FactorId, @Challenge, @Options, @CreatedAt, @ExpiresAt)
            on conflict (user_id, ceremony, purpose) do update set pending_id = excluded.pending_id, factor_id = excluded.factor_id,
                challenge = excluded.challenge, options = excluded.options, created_at = excluded.created_at, expires_at = excluded.expires_at
            """, challenge, transaction);

    /// <summary>Removes and returns the registration challenge issued for pending row <paramref name="pendingId"/>: whatever the
    /// response it is checked against, it is never usable again. A challenge issued for another pending row (a later passkey
    /// registration, which replaced this row's) is left alone: a confirmation of this row cannot spend it.</summary>
    public static Task<PasskeyChallengeRow?> TakeRegistrationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        Guid pendingId) =>
        connection.QuerySingleOrDefaultAsync<PasskeyChallengeRow>($"""
            delete from passkey_challenges where user_id = @userId and ceremony = 'registration' and pending_id = @pendingId
            returning {ChallengeColumns}
            """, new { userId, pendingId }, transaction);

    /// <summary>The registration challenges of pending rows that are gone (an enrollment or a switch another one replaced).</summary>
    public static Task DeleteOrphanedRegistrationsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync("""
            delete from passkey_challenges c where c.user_id = @userId and c.ceremony = 'registration'
                and not exists (select 1 from pending_factors p where p.user_id = c.user_id and p.id = c.pending_id)
            """, new { userId }, transaction);

    /// <summary>The user's live challenge of <paramref name="ceremony"/> and <paramref name="purpose"/>, left in place (an
    /// assertion is checked against it first and spends it with what it authorises: <see cref="TrySpendChallengeAsync"/>).</summary>
    public static Task<PasskeyChallengeRow?> GetChallengeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        string ceremony, string purpose) =>
        connection.QuerySingleOrDefaultAsync<PasskeyChallengeRow>(
            $"select {ChallengeColumns} from passkey_challenges where user_id = @userId and ceremony = @ceremony and purpose = @purpose",
            new { userId, ceremony, purpose }, transaction);

    /// <summary>Single use of a checked challenge: deletes exactly that challenge; false when it was spent or replaced meanwhile.</summary>
    public static async Task<bool> TrySpendChallengeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PasskeyChallengeRow challenge) =>
        await connection.ExecuteAsync("""
            delete from passkey_challenges
            where user_id = @UserId and ceremony = @Ceremony and purpose = @Purpose and challenge = @Challenge
            """, challenge, transaction) == 1;

    public static async Task<IReadOnlyList<PasskeyCredentialRow>> GetCredentialsAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, string userId) =>
        (await connection.QueryAsync<PasskeyCredentialRow>(
            $"select {CredentialColumns} from passkey_credentials where user_id = @userId order by created_at", new { userId }, transaction)).AsList();

    public static Task<bool> CredentialExistsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, byte[] credentialId) =>
        connection.ExecuteScalarAsync<bool>(
            "select exists(select 1 from passkey_credentials where credential_id = @credentialId)", new { credentialId }, transaction);

    /// <summary>Stores a credential; false when its id is taken. The check before it (<see cref="CredentialExistsAsync"/>) runs
    /// under one user's lock, so two users registering the same id at once both pass it: the second insert waits for the first's
    /// commit and then stores nothing.</summary>
    public static async Task<bool> InsertCredentialAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PasskeyCredentialRow credential) =>
        await connection.ExecuteAsync($"""
            insert into passkey_credentials ({CredentialColumns})
            values (@CredentialId, @UserId, @FactorId, @PublicKey, @SignCount, @Transports, @Aaguid, @UserHandle, @AttestationFmt,
                    @BackupEligible, @BackedUp, @CreatedAt)
            on conflict (credential_id) do nothing
            """, credential, transaction) == 1;

    /// <summary>The user's credentials and authentication challenge die with the factor they belonged to (a switch).</summary>
    public static Task DeleteForUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId) =>
        connection.ExecuteAsync("""
            delete from passkey_credentials where user_id = @userId;
            delete from passkey_challenges where user_id = @userId and ceremony = 'authentication';
            """, new { userId }, transaction);

    /// <summary>WebAuthn §7.2 step 21: records the new counter only when it moved forward (or both are zero: an
    /// authenticator without a counter). False means the counter regressed.</summary>
    public static async Task<bool> TryAdvanceCounterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        byte[] credentialId, long signCount, bool backedUp, DateTimeOffset now) =>
        await connection.ExecuteAsync("""
            update passkey_credentials set sign_count = @signCount, backed_up = @backedUp, last_used_at = @now
            where credential_id = @credentialId and user_id = @userId
              and (sign_count < @signCount or (sign_count = 0 and @signCount = 0))
            """, new { userId, credentialId, signCount, backedUp, now }, transaction) == 1;
}
