namespace AuthService.Api.Configuration;

/// <summary>A configuration problem that stops the service at start with one clear line.</summary>
public sealed class StartupException(string message) : Exception(message);
