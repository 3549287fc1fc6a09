// Trades this workload's JWT-SVID for a Vault token (Vault's JWT auth login) and for temporary AWS credentials
// (STS AssumeRoleWithWebIdentity) with Spiffe.Credentials, prints what it got - never a token or secret key, only
// expiries and the AWS access key ID - then asks again to show that both are cached.
// Without SPIFFE_ENDPOINT_SOCKET it starts an embedded Workload API (a Spiffe.Testing development agent). Without
// --vault-url / --sts-url it starts a LOCAL STAND-IN on loopback that speaks Vault's and STS's documented shapes:
// it is not Vault and not AWS, and its credentials open nothing.
using System.Globalization;
using Spiffe;
using Spiffe.Credentials;
using Spiffe.Jwt;
using Spiffe.Samples;
using Spiffe.Testing;
using Spiffe.WorkloadApi;

if (!SampleArguments.TryParse(() => CredentialsSettings.Parse(args), out CredentialsSettings? settings))
{
    return 2; // bad or unknown option, already explained on stderr
}

using var stopping = new CancellationTokenSource(TimeSpan.FromMinutes(2));
DevelopmentAgent? agent = null;
CredentialStandIn? standIn = null;
try
{
    SpiffeId? subject = settings.Id;
    string? address = Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable);
    if (string.IsNullOrEmpty(address))
    {
        subject ??= SpiffeId.Parse("spiffe://example.org/orders");
        var agentOptions = new DevelopmentAgentOptions { TrustDomain = subject.TrustDomain };
        agentOptions.Ids.Add(subject);
        agent = await DevelopmentAgent.StartAsync(agentOptions, stopping.Token);
        address = agent.Address;
        Console.WriteLine($"workload api: embedded development agent on {address} (SPIFFE_ENDPOINT_SOCKET is unset), issuing {subject}");
    }
    else
    {
        Console.WriteLine($"workload api: {address} (SPIFFE_ENDPOINT_SOCKET)");
    }

    // One JwtSource for both exchanges: it fetches JWT-SVIDs per audience and refreshes them before they expire.
    await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = address } }, stopping.Token);

    if ((settings.Vault && settings.VaultUrl is null) || (settings.Aws && settings.StsUrl is null))
    {
        standIn = await CredentialStandIn.StartAsync(jwt, subject, settings);
        Console.WriteLine($"LOCAL STAND-IN (not Vault, not AWS; made-up credentials) on {standIn.Address}: checks the JWT-SVID's signature against the Workload API's JWT bundle, its audience{(subject is null ? "" : $" and sub = {subject}")}");
    }

    await using var vault = settings.Vault ? new VaultTokenSource(new VaultTokenSourceOptions
    {
        VaultAddress = settings.VaultUrl ?? standIn!.Address,
        Mount = settings.VaultMount,
        Role = settings.VaultRole,
        Audiences = { settings.VaultAudience },
        Subject = subject,
        JwtSvidSource = jwt,
    }) : null;

    await using var aws = settings.Aws ? new AwsCredentialSource(new AwsCredentialSourceOptions
    {
        StsEndpoint = settings.StsUrl ?? standIn!.Address,
        RoleArn = settings.RoleArn,
        Audiences = { settings.StsAudience },
        Subject = subject,
        JwtSvidSource = jwt,
    }) : null;

    // What is presented: the JWT-SVID's claims only; the token is a credential and is not printed.
    foreach (string audience in new[] { settings.Vault ? settings.VaultAudience : null, settings.Aws ? settings.StsAudience : null }.OfType<string>())
    {
        JwtSvid svid = await jwt.GetJwtSvidAsync(new JwtSvidRequest([audience], subject), stopping.Token);
        Console.WriteLine($"jwt-svid: sub {svid.Id}, aud {string.Join(",", svid.Audience)}, expires {Time(svid.ExpiresAt)} (token not printed)");
    }

    VaultToken? token = null;
    AwsCredentials? credentials = null;
    if (vault is not null)
    {
        Uri where = settings.VaultUrl ?? standIn!.Address;
        token = await vault.GetTokenAsync(stopping.Token);
        Console.WriteLine($"vault: POST {where}v1/auth/{settings.VaultMount.Trim('/')}/login as role {settings.VaultRole}{(settings.VaultUrl is null ? " (stand-in)" : "")}");
        Console.WriteLine($"vault: token obtained, lease ends {Time(token.ExpiresAt)}, renewable {token.Renewable.ToString().ToLowerInvariant()} (token not printed; send it as X-Vault-Token)");
    }

    if (aws is not null)
    {
        credentials = await aws.GetCredentialsAsync(stopping.Token);
        Console.WriteLine($"aws: AssumeRoleWithWebIdentity at {settings.StsUrl ?? standIn!.Address} for {settings.RoleArn}{(settings.StsUrl is null ? " (stand-in)" : "")}");
        Console.WriteLine($"aws: access key ID {credentials.AccessKeyId}, expires {Time(credentials.ExpiresAt)} (secret access key and session token not printed)");
    }

    // Asking again returns the cached credentials: no new login until shortly before they expire.
    bool cached = (vault is null || ReferenceEquals(token, await vault.GetTokenAsync(stopping.Token)))
        && (aws is null || ReferenceEquals(credentials, await aws.GetCredentialsAsync(stopping.Token)));
    Console.WriteLine(cached
        ? $"asked again: the same credentials came from the cache{(standIn is null ? "" : $" (stand-in saw {standIn.VaultLogins} Vault login(s), {standIn.StsCalls} STS call(s))")}"
        : "asked again: NEW credentials were fetched although the first are still valid");
    Console.WriteLine(cached ? $"credentials sample OK: traded the JWT-SVID for {(vault is null ? "" : "a Vault token")}{(vault is not null && aws is not null ? " and " : "")}{(aws is null ? "" : "AWS credentials")}" : "credentials sample FAILED");
    return cached ? 0 : 1;
}
catch (Exception e) when (e is SpiffeException or OperationCanceledException or InvalidOperationException)
{
    // CredentialExchangeException (a SpiffeException) carries the service's own error: Vault's errors, STS's Code and Message.
    Console.Error.WriteLine($"error: {e.Message}");
    Console.WriteLine("credentials sample FAILED");
    return 1;
}
finally
{
    if (standIn is not null)
    {
        await standIn.DisposeAsync();
    }

    if (agent is not null)
    {
        await agent.DisposeAsync();
    }
}

static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
