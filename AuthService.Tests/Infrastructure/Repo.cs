namespace AuthService.Tests.Infrastructure;

public static class Repo
{
    /// <summary>The repository root (the folder holding AuthService.sln).</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuthService.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("AuthService.sln not found above " + AppContext.BaseDirectory);
    }
}
