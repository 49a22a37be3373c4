using AuthService.Tests.Infrastructure.Contract;

namespace AuthService.Tests;

/// <summary>At the end of the run: how many answers the contract check saw, and which documented responses no test
/// produced (information for whoever adds tests; not a failure).</summary>
[SetUpFixture]
public sealed class ContractSummary
{
    [OneTimeTearDown]
    public void Report()
    {
        var contract = OpenApiContract.Current;
        var covered = contract.Covered;
        if (covered.Count == 0)
        {
            return;
        }

        var missing = contract.DeclaredResponses.Where(r => !covered.ContainsKey(r)).ToList();
        TestContext.Progress.WriteLine($"contract check: {covered.Values.Sum()} answers checked against openapi.yaml, " +
                                       $"{covered.Count} of {covered.Count + missing.Count} documented responses seen");
        if (missing.Count > 0)
        {
            TestContext.Progress.WriteLine("  documented but never seen in this run: " + string.Join(", ", missing));
        }
    }
}
