using AuthService.Api.Configuration;
using AuthService.Api.Events;
using AuthService.Api.Http;
using AuthService.Api.Storage;
using AuthService.Core.Factors;
using AuthService.Core.Phone;
using AuthService.Core.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuthService.Api.TwoFactor.Methods.Phone;

/// <summary>A phone number that gets codes by SMS or voice call (DESIGN §5): the number sealed at rest, looked up by a keyed hash,
/// shown masked; a new number confirmed by the code sent to it; a login or proof code accepted once, only for the purpose and the
/// factor it was sent for (DESIGN §9.1). Sending goes through <see cref="PhoneCodeDelivery"/> (destination policy, budgets, caps,
/// the provider).</summary>
public sealed class PhoneMethod(PendingFactors pending, PhoneCodeDelivery delivery, PhoneDeliveries deliveries, SecretBox secrets,
    IOptions<FactorOptions> factorOptions) : IFactorMethod
{
    public static readonly Problem BadChannel = Problems.Validation("channel must be 'sms' or 'call'.");

    public string Name => FactorMethods.Phone;

    public int MaxPerUser => factorOptions.Value.MaxPhone;

    public static readonly string[] Fields = ["phoneNumber", "channel"];

    public IReadOnlyCollection<string> RequestFields => Fields;

    /// <summary>The channel and the number's shape, then the destination policy of DESIGN §8.2
    /// (<see cref="PhoneDeliveries.CheckDestination"/>): a refused type or country is refused here.</summary>
    public Problem? TargetProblem(FactorTarget target)
    {
        if (!Channels.IsPhone(target.Channel))
        {
            return BadChannel;
        }

        var parsed = PhoneNumbers.Parse(target.PhoneNumber);
        return parsed.IsValid
            ? deliveries.CheckDestination(parsed.E164!, Channels.Parse(target.Channel))
            : new Problem(400, ProblemCodes.InvalidPhoneNumber, "The phone number is invalid.",
                $"phoneNumber must be a valid number in E.164 form, e.g. +13035550123 ({parsed.Error}).");
    }

    public bool SendsOnStart => true;

    /// <summary>Sends the code, then stores the pending row with it. A switch or an addition sends before it spends its proof (a
    /// send the provider refuses keeps it, DESIGN §9.1), so its proof is checked and this runs under the user's one claim for such
    /// a change (<see cref="ChangeProofs.StartProvedAsync"/>).</summary>
    public async Task<Result<PendingStarted>> StartAsync(FactorStart start, CancellationToken cancellationToken)
    {
        var e164 = PhoneNumbers.Parse(start.Target.PhoneNumber).E164!;
        var channel = start.Target.Channel!;
        var masked = PhoneNumbers.Mask(e164);
        var phoneHash = secrets.PhoneLookupHash(e164);
        // The pending row lives as long as the code that alone confirms it: the caller key's profile's validity (DESIGN §9.5),
        // the same profile the delivery reads for this request.
        var row = PendingFactors.New(start, Name, delivery.Validity) with
        {
            PhoneNumber = secrets.Seal(e164, SealContexts.PhoneNumber(start.UserId)),
            PhoneHash = phoneHash,
            PhoneMasked = masked,
            Channel = channel,
        };
        // The code's id is the pending row's, and so is the factor it is bound to: only the code sent to this number confirms
        // this pending factor. The row (and a switch's proof) is stored with the code, once it was sent.
        var sent = await delivery.DeliverAsync(new CodeSend(start.UserId, e164, phoneHash, Channels.Parse(channel), PhoneCodes.PendingPurpose, row.Id,
            row.Id, start.Actor, (connection, transaction, user, recentFailures) =>
                pending.StoreAsync(connection, transaction, row, start.Proof, user, recentFailures, start.Now, start.Actor), start.ClaimLapsesAt),
            start.Now, cancellationToken);
        return sent.Error is not null
            ? sent.Error
            : new PendingStarted(null, new PhoneEnrollmentResponse(Name, masked, channel, sent.Value, row.Id));
    }

    public async Task<PendingCheck> CheckPendingCodeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, PendingRow row, string code,
        DateTimeOffset now) =>
        new(await PhoneCodeCheck.TryConsumeAsync(connection, transaction, secrets, row.UserId, PhoneCodes.PendingPurpose, row.Id, code, now,
            expectedCodeId: row.Id));

    /// <summary>The live code of the stage's purpose sent for one of the user's phone factors; spent (with the factor's
    /// bookkeeping and its audit event) when the proof is.</summary>
    public async Task<MethodOutcome<CheckedProof>> CheckCodeAsync(CodeAttempt attempt)
    {
        var purpose = ProofCheck.PurposeOf(attempt.Stage);
        var phones = attempt.Factors.Select(f => f.FactorId).ToArray();
        if (await PhoneCodeCheck.TryMatchAsync(attempt.Connection, attempt.Transaction, secrets, attempt.UserId, purpose, phones, attempt.Code,
                attempt.Now) is not { } code)
        {
            return MethodOutcome<CheckedProof>.NoMatch;
        }

        var (userId, stage, actor) = (attempt.UserId, attempt.Stage, attempt.Actor);
        return new CheckedProof(code.FactorId, Name, stage, null, async (c, t, at) =>
        {
            if (!await PhoneCodeStore.ConsumeCodeAsync(c, t, userId, purpose, code.Id))
            {
                return null;
            }

            var remaining = await TwoFactorStore.RecordSuccessAsync(c, t, userId, code.FactorId, at);
            await AuditLog.AppendAsync(c, t, userId,
                new AuditEvent.VerificationSucceeded(FactorMethods.Phone, stage, BackupCodesRemaining: remaining, FactorId: code.FactorId), at, actor);
            return remaining;
        });
    }
}
