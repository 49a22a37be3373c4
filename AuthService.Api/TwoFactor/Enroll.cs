using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using Npgsql;

namespace AuthService.Api.TwoFactor;

/// <summary>Starts enrollment of a user without a factor: a TOTP secret, a code sent to a phone, or passkey creation options.</summary>
public sealed class Enroll(NpgsqlDataSource dataSource, FactorStarts starts)
{
    public async Task<Result<PendingStarted>> StartAsync(string userId, EnrollRequest request, Guid? actor, CancellationToken cancellationToken)
    {
        if (starts.TargetProblem(request.Method, request.AccountName, request.DisplayName, request.PhoneNumber, request.Channel) is { } invalid)
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

        return await starts.StartAsync(userId, PendingPurposes.Enroll, request.Method!, request.AccountName, request.DisplayName, request.PhoneNumber,
            request.Channel, null, actor, null, cancellationToken);
    }
}
