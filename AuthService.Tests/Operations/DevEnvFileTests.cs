using System.Diagnostics;

namespace AuthService.Tests.Operations;

/// <summary><c>make run</c> loads <c>.data/dev.env</c> through <c>scripts/env-file.sh</c>. Its values are base64 keys, and a key of
/// 32 bytes always ends in one '=': <c>IFS='=' read name value</c> dropped it, and <c>make run</c> refused to start on every
/// checkout ("Encryption key 'dev' is not valid base64"). The loader runs here in bash as <c>make run</c> runs it.</summary>
public class DevEnvFileTests
{
    [Test]
    public async Task Each_value_is_exported_exactly_as_written_and_a_value_the_caller_set_wins()
    {
        var key = Convert.ToBase64String(new byte[32]); // ends in a single '='
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, $"Encryption__Keys__dev={key}\nAuth__BootstrapAdminKey=ask_x==\nCaller__Set=from-file\n\nNo__Newline=a=b=");
            var start = new ProcessStartInfo("bash")
            {
                ArgumentList =
                {
                    "-c", "source \"$1\"; load_env_file \"$2\"; printf '%s\\n' \"$Encryption__Keys__dev\" \"$Auth__BootstrapAdminKey\" \"$Caller__Set\" \"$No__Newline\"",
                    "bash", Path.Combine(Repo.Root, "scripts", "env-file.sh"), file,
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["Caller__Set"] = "from-caller" },
            };
            using var bash = Process.Start(start)!;
            var output = await bash.StandardOutput.ReadToEndAsync();
            await bash.WaitForExitAsync();

            Assert.That(bash.ExitCode, Is.Zero, await bash.StandardError.ReadToEndAsync());
            Assert.That(output.Split('\n')[..4], Is.EqualTo(new[] { key, "ask_x==", "from-caller", "a=b=" }));
            Assert.That(Convert.FromBase64String(output.Split('\n')[0]), Has.Length.EqualTo(32));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
