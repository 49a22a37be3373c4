using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts enrollment of a user without a factor: a TOTP secret, or a code sent to a phone.</summary>
public sealed class Enroll(NpgsqlDataSource dataSource, MethodRequests requests, PendingFactors pending, TimeProvider time)
{
    public async Task<Result<PendingStarted>> StartAsync(string userId, EnrollRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (requests.Check(request.Method, request.AccountName, request.PhoneNumber, request.Channel) is { } invalid)
        {
            return invalid;
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await TwoFactorStore.GetFactorAsync(connection, null, userId) is not null)
            {
                return Problems.AlreadyEnabled;
            }
        }

        return await pending.StartAsync(userId, PendingPurposes.Enroll, request.Method!, request.AccountName, request.PhoneNumber, request.Channel, null,
            actor, time.GetUtcNow(), cancellationToken);
    }
}
