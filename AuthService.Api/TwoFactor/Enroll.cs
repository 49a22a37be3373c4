using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Api.TwoFactor.Methods;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts enrollment of a user without a factor: a TOTP secret, a code sent to a phone, or passkey creation options.</summary>
public sealed class Enroll(NpgsqlDataSource dataSource, FactorMethodRegistry methods, TimeProvider time)
{
    public async Task<Result<PendingStarted>> StartAsync(string userId, EnrollRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        var target = FactorTarget.Of(request);
        if (methods.TargetProblem(target) is { } invalid)
        {
            return invalid;
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await TwoFactorStore.GetUserAsync(connection, null, userId) is not null)
            {
                return Problems.AlreadyEnabled;
            }
        }

        return await methods.StartAsync(new FactorStart(userId, PendingPurposes.Enroll, target, null, actor, null, time.GetUtcNow()), cancellationToken);
    }
}
