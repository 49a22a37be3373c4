# Multi-stage build: the SDK compiles, the smaller ASP.NET runtime image runs as a non-root user.
# Configuration comes only from the environment (see docs/OPERATIONS.md / DESIGN §6).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY AuthService.Core/AuthService.Core.csproj AuthService.Core/
COPY AuthService.Api/AuthService.Api.csproj AuthService.Api/
RUN dotnet restore AuthService.Api/AuthService.Api.csproj
COPY AuthService.Core/ AuthService.Core/
COPY AuthService.Api/ AuthService.Api/
RUN dotnet publish AuthService.Api/AuthService.Api.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The one MPL-2.0 file in its Source Code Form, with the notice that names it (THIRD-PARTY-NOTICES.md, MPL-2.0 §3.2).
COPY THIRD-PARTY-NOTICES.md AuthService.Core/Phone/CodeLocales.Sourced.cs ./third-party/
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production
EXPOSE 8080
# The runtime image ships the unprivileged `app` user (uid 1654).
USER app
# No curl in the runtime image: the service checks itself (GET /health/live).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["dotnet", "AuthService.Api.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "AuthService.Api.dll"]
