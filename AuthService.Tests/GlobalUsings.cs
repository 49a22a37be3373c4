// Test folders are features; their helpers are shared across them.
global using AuthService.Tests.ApiKeys;
global using AuthService.Tests.Contract;
global using AuthService.Tests.Core;
global using AuthService.Tests.Infrastructure;
global using AuthService.Tests.Limits;
global using AuthService.Tests.Operations;
global using AuthService.Tests.Passkeys;
global using AuthService.Tests.Policy;
global using AuthService.Tests.Profiles;
global using AuthService.Tests.Security;
global using AuthService.Tests.Storage;
global using AuthService.Tests.Support;
global using AuthService.Tests.Telephony;
global using AuthService.Tests.TwoFactor;
global using AuthService.Tests.Webhooks;
global using AuthService.Tests.Infrastructure.Contract;
