namespace AuthService.Api.Storage;

public sealed record FactorRow
{
    public string UserId { get; init; } = "";

    /// <summary>Which secret this is: a new id on every enrollment and switch (the confirmed pending row's id).</summary>
    public Guid FactorId { get; init; }

    public string Method { get; init; } = "";
    public byte[]? TotpSecret { get; init; }
    public string? TotpAlgorithm { get; init; }
    public int? TotpDigits { get; init; }
    public int? TotpPeriod { get; init; }
    public byte[]? PhoneNumber { get; init; }
    public byte[]? PhoneHash { get; init; }
    public string? PhoneMasked { get; init; }
    public string? Channel { get; init; }
    public long LastTotpStep { get; init; }
    public string Label { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public bool IsDefault { get; init; }

    /// <summary>The user's (not the factor's): when 2FA was enabled, the consecutive failures and the lock, read with each
    /// factor row (<c>two_factor_users</c>).</summary>
    public DateTime EnabledAt { get; init; }
    public int FailedConsecutive { get; init; }
    public DateTime? LockedAt { get; init; }

    /// <summary>Failed attempts inside the per-minute window, oldest first; read only by the batch's locked read
    /// (<see cref="AttemptLedger.BeginLockAndLoadManyAsync"/>; null elsewhere).</summary>
    public DateTime[]? RecentFailures { get; init; }
}

/// <summary>A user with 2FA enabled: the user's lockout state and every factor, the default first, then by age.</summary>
public sealed record UserFactors(string UserId, DateTime EnabledAt, int FailedConsecutive, DateTime? LockedAt, IReadOnlyList<FactorRow> Factors)
{
    public bool Locked => LockedAt is not null;

    /// <summary>The user's default factor (its method is the status answer's <c>method</c>).</summary>
    public FactorRow Default => Factors[0];

    public FactorRow? Find(Guid factorId) => Factors.FirstOrDefault(f => f.FactorId == factorId);

    public IEnumerable<FactorRow> OfMethod(string method) => Factors.Where(f => f.Method == method);

    /// <summary>Null for no rows (the user has no second factor).</summary>
    public static UserFactors? From(IReadOnlyList<FactorRow> rows)
    {
        if (rows.Count == 0)
        {
            return null;
        }

        var ordered = rows.OrderByDescending(f => f.IsDefault).ThenBy(f => f.CreatedAt).ThenBy(f => f.FactorId).ToList();
        var first = ordered[0];
        return new UserFactors(first.UserId, first.EnabledAt, first.FailedConsecutive, first.LockedAt, ordered);
    }
}

public sealed record PendingRow
{
    public string UserId { get; init; } = "";
    public Guid Id { get; init; }
    public string Purpose { get; init; } = "";
    public string Method { get; init; } = "";
    public byte[]? TotpSecret { get; init; }
    public string? TotpAlgorithm { get; init; }
    public int? TotpDigits { get; init; }
    public int? TotpPeriod { get; init; }
    public byte[]? PhoneNumber { get; init; }
    public byte[]? PhoneHash { get; init; }
    public string? PhoneMasked { get; init; }
    public string? Channel { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }

    /// <summary>A switch: the factor its proof was checked against (the switch replaces every factor, while that one is still
    /// the user's); null for an enrollment or an addition.</summary>
    public Guid? FromFactorId { get; init; }

    /// <summary>The label the factor will carry (an addition may name it; otherwise the method's default label).</summary>
    public string? Label { get; init; }

    /// <summary>A switch or an addition: the method of the proof that started it (<c>totp</c>, <c>backup_code</c>,
    /// <c>bypass_code</c>…), so that revoking the codes of that kind voids it (<c>TwoFactor.PendingFactors.VoidStartedWithAsync</c>).</summary>
    public string? ProofMethod { get; init; }
}

public sealed class BackupCodeRow
{
    public long Id { get; init; }
    public byte[] Salt { get; init; } = [];
    public byte[] CodeHash { get; init; } = [];
    public int Iterations { get; init; }
}
