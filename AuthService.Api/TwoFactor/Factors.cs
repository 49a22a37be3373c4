using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.TwoFactor.Passkeys;
using AuthService.Api.Storage;
using AuthService.Api.TwoFactor.Methods;
using AuthService.Core.Factors;
using AuthService.Core.Policy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Several named factors per user (DESIGN §9.2): add one (with a proof once 2FA is on; without 2FA, the first
/// enrollment), confirm it, rename it or make it the default, remove it with a proof from another factor or a backup code.
/// The last factor is never removed: 2FA cannot be disabled by the user.</summary>
public sealed class Factors(NpgsqlDataSource dataSource, ChangeProofs changeProofs, FactorMethodRegistry methods, TimeProvider time)
{
    public const string AddStage = "add_factor";
    public const string RemoveStage = "remove_factor";

    public async Task<Result<PendingStarted>> AddAsync(string userId, AddFactorRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (FactorLabels.Problem(request.Label) is { } badLabel)
        {
            return Problems.Validation(badLabel);
        }

        var target = FactorTarget.Of(request);
        if (methods.TargetProblem(target) is { } invalid)
        {
            return invalid;
        }

        UserFactors? user;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            user = await TwoFactorStore.GetUserAsync(connection, null, userId);
        }

        if (user is null)
        {
            // Without 2FA an addition is the first enrollment (no proof to give); it is confirmed at /factors/{id}/confirm too.
            return request.Proof is not null
                ? Problems.NotEnabled
                : await methods.StartAsync(new FactorStart(userId, PendingPurposes.Enroll, target, null, actor, FactorLabels.Normalize(request.Label), time.GetUtcNow()),
                    cancellationToken);
        }

        var max = methods[request.Method!].MaxPerUser;
        if (user.OfMethod(request.Method!).Count() >= max)
        {
            return Problems.FactorLimitReached(request.Method!, max);
        }

        var now = time.GetUtcNow();
        return await changeProofs.StartProvedAsync(userId, request.Proof, actor, AddStage, target, now,
            (proof, claimLapsesAt) => methods.StartAsync(
                new FactorStart(userId, PendingPurposes.Add, target, proof, actor, FactorLabels.Normalize(request.Label), now, claimLapsesAt),
                cancellationToken),
            cancellationToken);
    }

    public async Task<Result<FactorView>> UpdateAsync(string userId, Guid factorId, UpdateFactorRequest request, Guid? actor,
        CancellationToken cancellationToken)
    {
        if (request.Label is null && request.Default is null)
        {
            return Problems.Validation("Send label, default or both.");
        }

        if (request.Default == false)
        {
            return Problems.Validation("default can only be set to true: make another factor the default instead.");
        }

        if (FactorLabels.Problem(request.Label) is { } badLabel)
        {
            return Problems.Validation(badLabel);
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (user, _) = await AttemptLedger.LockAndLoadAsync(connection, transaction, userId, now);
        if (user?.Find(factorId) is not { } before)
        {
            return user is null ? Problems.NotEnabled : Problems.FactorNotFound;
        }

        var label = FactorLabels.Normalize(request.Label);
        await TwoFactorStore.UpdateFactorAsync(connection, transaction, userId, factorId, label, request.Default == true, now);
        await AuditLog.AppendAsync(connection, transaction, userId, new AuditEvent.FactorUpdated(factorId, before.Method, label, request.Default == true), now, actor);
        await transaction.CommitAsync(cancellationToken);
        return methods.Describe(before with { Label = label ?? before.Label, IsDefault = before.IsDefault || request.Default == true });
    }

    /// <summary>Removes a factor, proved by another factor or a backup code (spent in the transaction that removes it). The user's
    /// last factor is refused (409 <c>last_factor</c>); its codes and challenges die with it.</summary>
    public async Task<Result<bool>> RemoveAsync(string userId, Guid factorId, Proof? proof, Guid? actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        UserFactors? user;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            user = await TwoFactorStore.GetUserAsync(connection, null, userId);
        }

        if (Removable(user, factorId) is { } refused)
        {
            return refused;
        }

        var checkedProof = await changeProofs.CheckAsync(userId, proof, actor, RemoveStage, cancellationToken, excluded: factorId);
        if (checkedProof.Error is not null)
        {
            return checkedProof.Error;
        }

        await using var conn = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
        (user, var recentFailures) = await AttemptLedger.LockAndLoadAsync(conn, transaction, userId, now - AttemptLimits.Window);
        var problem = Removable(user, factorId);
        if (problem is null)
        {
            problem = (await changeProofs.SpendAsync(conn, transaction, checkedProof.Value!, user, recentFailures, now, actor)).Error;
        }

        if (problem is null)
        {
            var removed = user!.Find(factorId)!;
            await TwoFactorStore.DeleteFactorAsync(conn, transaction, userId, factorId, now);
            await AuditLog.AppendAsync(conn, transaction, userId, new AuditEvent.FactorRemoved(factorId, removed.Method), now, actor);
        }

        await transaction.CommitAsync(cancellationToken);
        return problem is null ? new Result<bool>(true, null) : problem;
    }

    private static Problem? Removable(UserFactors? user, Guid factorId) =>
        user is null ? Problems.NotEnabled
        : user.Find(factorId) is null ? Problems.FactorNotFound
        : user.Factors.Count == 1 ? Problems.LastFactor
        : null;
}
