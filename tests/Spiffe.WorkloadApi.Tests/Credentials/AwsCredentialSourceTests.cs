using System.Web;
using Microsoft.Extensions.Time.Testing;
using Spiffe.Credentials;
using Spiffe.Jwt;

namespace Spiffe.WorkloadApi.Tests.Credentials;

/// <summary>STS AssumeRoleWithWebIdentity with a JWT-SVID, against an in-test server speaking the documented query API and XML.</summary>
public sealed class AwsCredentialSourceTests
{
    private const string RoleArn = "arn:aws:iam::123456789012:role/orders";

    private static string Answer(DateTimeOffset expiration) => $"""
        <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleWithWebIdentityResult>
            <SubjectFromWebIdentityToken>spiffe://example.org/web</SubjectFromWebIdentityToken>
            <Audience>sts.amazonaws.com</Audience>
            <AssumedRoleUser>
              <Arn>arn:aws:sts::123456789012:assumed-role/orders/spiffe-workload</Arn>
              <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:spiffe-workload</AssumedRoleId>
            </AssumedRoleUser>
            <Credentials>
              <SessionToken>FwoGZXIvYXdzEXAMPLEsessiontoken</SessionToken>
              <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>
              <Expiration>{expiration.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}</Expiration>
              <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
            </Credentials>
            <Provider>example.org</Provider>
          </AssumeRoleWithWebIdentityResult>
          <ResponseMetadata>
            <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
          </ResponseMetadata>
        </AssumeRoleWithWebIdentityResponse>
        """;

    [Fact]
    public async Task GetCredentialsAsync_StsAnswers_SendsQueryAndParsesCredentials()
    {
        await using TestAgent agent = await VaultTokenSourceTests.StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer sts = await CredentialServer.StartAsync();
        DateTimeOffset expiration = new DateTimeOffset(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero).AddHours(1);
        sts.Answer = (200, "text/xml", Answer(expiration));
        await using var source = new AwsCredentialSource(new AwsCredentialSourceOptions
        {
            StsEndpoint = sts.Address, RoleArn = RoleArn, JwtSvidSource = jwt, Audiences = { "sts.amazonaws.com" }, Duration = TimeSpan.FromHours(1),
        });

        AwsCredentials credentials = await source.GetCredentialsAsync(TestAgent.Timeout());

        Assert.Equal("ASIAIOSFODNN7EXAMPLE", credentials.AccessKeyId);
        Assert.Equal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", credentials.SecretAccessKey);
        Assert.Equal("FwoGZXIvYXdzEXAMPLEsessiontoken", credentials.SessionToken);
        Assert.Equal(expiration, credentials.ExpiresAt);
        Assert.DoesNotContain("EXAMPLEKEY", credentials.ToString(), StringComparison.Ordinal);
        ReceivedRequest request = Assert.Single(sts.Requests);
        Assert.Equal(("POST", "/"), (request.Method, request.Path));
        Assert.StartsWith("application/x-www-form-urlencoded", request.ContentType, StringComparison.Ordinal);
        var form = HttpUtility.ParseQueryString(request.Body);
        Assert.Equal("AssumeRoleWithWebIdentity", form["Action"]);
        Assert.Equal("2011-06-15", form["Version"]);
        Assert.Equal(RoleArn, form["RoleArn"]);
        Assert.Equal("spiffe-workload", form["RoleSessionName"]);
        Assert.Equal("3600", form["DurationSeconds"]);
        JwtSvid presented = JwtSvid.ParseAndValidate(form["WebIdentityToken"]!, agent.Jwt.CreateJwtBundle(), ["sts.amazonaws.com"]);
        Assert.Equal(TestAgent.Web, presented.Id);
    }

    [Fact]
    public async Task GetCredentialsAsync_Repeated_CachedUntilShortlyBeforeExpiration()
    {
        await using TestAgent agent = await VaultTokenSourceTests.StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer sts = await CredentialServer.StartAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        sts.Answer = (200, "text/xml", Answer(time.GetUtcNow().AddHours(1)));
        await using var source = new AwsCredentialSource(new AwsCredentialSourceOptions
        {
            StsEndpoint = sts.Address, RoleArn = RoleArn, JwtSvidSource = jwt, Audiences = { "sts.amazonaws.com" }, TimeProvider = time, RefreshBefore = TimeSpan.FromMinutes(5),
        });

        await source.GetCredentialsAsync(TestAgent.Timeout());
        time.Advance(TimeSpan.FromMinutes(54));
        await source.GetCredentialsAsync(TestAgent.Timeout());
        Assert.Single(sts.Requests);

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await source.GetCredentialsAsync(TestAgent.Timeout());
        Assert.Equal(2, sts.Requests.Count);
    }

    [Fact]
    public async Task GetCredentialsAsync_StsError_ThrowsWithCodeAndMessage()
    {
        await using TestAgent agent = await VaultTokenSourceTests.StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer sts = await CredentialServer.StartAsync();
        sts.Answer = (400, "text/xml", """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>No OpenIDConnect provider found in your account for https://oidc.example.org</Message></Error>
              <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
            </ErrorResponse>
            """);
        await using var source = new AwsCredentialSource(new AwsCredentialSourceOptions { StsEndpoint = sts.Address, RoleArn = RoleArn, JwtSvidSource = jwt, Audiences = { "sts.amazonaws.com" } });

        CredentialExchangeException e = await Assert.ThrowsAsync<CredentialExchangeException>(() => source.GetCredentialsAsync(TestAgent.Timeout()).AsTask());

        Assert.Contains("HTTP 400, InvalidIdentityToken: No OpenIDConnect provider found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetCredentialsAsync_AnswerWithoutCredentials_Throws()
    {
        await using TestAgent agent = await VaultTokenSourceTests.StartAgentAsync();
        await using JwtSource jwt = await JwtSource.CreateAsync(new JwtSourceOptions { ClientOptions = agent.ClientOptions() }, TestAgent.Timeout());
        await using CredentialServer sts = await CredentialServer.StartAsync();
        sts.Answer = (200, "text/xml", """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult/></AssumeRoleWithWebIdentityResponse>""");
        await using var source = new AwsCredentialSource(new AwsCredentialSourceOptions { StsEndpoint = sts.Address, RoleArn = RoleArn, JwtSvidSource = jwt, Audiences = { "sts.amazonaws.com" } });

        CredentialExchangeException e = await Assert.ThrowsAsync<CredentialExchangeException>(() => source.GetCredentialsAsync(TestAgent.Timeout()).AsTask());

        Assert.Contains("without AccessKeyId", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("has space")]
    public void Constructor_InvalidSessionName_Throws(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => new AwsCredentialSource(new AwsCredentialSourceOptions { RoleArn = RoleArn, RoleSessionName = name, Audiences = { "sts.amazonaws.com" }, JwtSvidSource = new NoSource() }));

    private sealed class NoSource : IJwtSvidSource
    {
        public ValueTask<JwtSvid> GetJwtSvidAsync(JwtSvidRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
