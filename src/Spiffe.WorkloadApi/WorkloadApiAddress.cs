using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Spiffe.WorkloadApi;

/// <summary>
/// Where the Workload API listens, parsed strictly per SPIFFE_Workload_Endpoint.md §4:
/// <c>unix:///absolute/path</c> (or <c>unix:/absolute/path</c>; no authority, query or fragment)
/// or <c>tcp://IP:port</c> (an IP literal, never a host name; nothing after the port).
/// Validated before any connection attempt.
/// </summary>
/// <remarks>
/// <code>
/// var address = WorkloadApiAddress.Parse("unix:///run/spire/agent/sockets/agent.sock");
/// var fromEnv = WorkloadApiAddress.FromEnvironment(); // SPIFFE_ENDPOINT_SOCKET
/// </code>
/// </remarks>
public sealed class WorkloadApiAddress : IEquatable<WorkloadApiAddress>
{
    /// <summary>The environment variable a workload reads its Workload API address from.</summary>
    public const string EnvironmentVariable = "SPIFFE_ENDPOINT_SOCKET";

    private readonly string _text;

    private WorkloadApiAddress(string text, string? unixSocketPath, IPEndPoint? tcpEndPoint)
    {
        _text = text;
        UnixSocketPath = unixSocketPath;
        TcpEndPoint = tcpEndPoint;
    }

    /// <summary>The socket path for a <c>unix:</c> address; null for TCP.</summary>
    public string? UnixSocketPath { get; }

    /// <summary>The IP end point for a <c>tcp:</c> address; null for a Unix socket.</summary>
    public IPEndPoint? TcpEndPoint { get; }

    /// <summary>True for a Unix domain socket address.</summary>
    [MemberNotNullWhen(true, nameof(UnixSocketPath))]
    [MemberNotNullWhen(false, nameof(TcpEndPoint))]
    public bool IsUnixSocket => UnixSocketPath is not null;

    /// <summary>Parses an address.</summary>
    /// <exception cref="WorkloadApiException">The address is not a valid Workload API address; the message says which rule it breaks.</exception>
    public static WorkloadApiAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return TryParse(address, out WorkloadApiAddress? parsed, out string? error)
            ? parsed
            : throw new WorkloadApiException(WorkloadApiErrorKind.Configuration, error);
    }

    /// <summary>Parses an address without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? address, [NotNullWhen(true)] out WorkloadApiAddress? parsed) =>
        TryParse(address, out parsed, out _);

    /// <summary>
    /// The address in <c>SPIFFE_ENDPOINT_SOCKET</c>.
    /// </summary>
    /// <exception cref="WorkloadApiException">The variable is unset, empty or invalid; the message says how to set it.</exception>
    public static WorkloadApiAddress FromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new WorkloadApiException(
                WorkloadApiErrorKind.Configuration,
                $"No Workload API address: set the {EnvironmentVariable} environment variable (e.g. unix:///run/spire/agent/sockets/agent.sock) or pass an address in the options.");
        }

        return TryParse(value, out WorkloadApiAddress? parsed, out string? error)
            ? parsed
            : throw new WorkloadApiException(WorkloadApiErrorKind.Configuration, $"{EnvironmentVariable}: {error}");
    }

    /// <summary>The explicit address when given, else <c>SPIFFE_ENDPOINT_SOCKET</c> (SPIFFE_Workload_Endpoint.md §4).</summary>
    /// <exception cref="WorkloadApiException">Neither is set, or the one used is invalid.</exception>
    public static WorkloadApiAddress Resolve(string? explicitAddress) =>
        string.IsNullOrWhiteSpace(explicitAddress) ? FromEnvironment() : Parse(explicitAddress);

    private static bool TryParse(string? address, [NotNullWhen(true)] out WorkloadApiAddress? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrEmpty(address))
        {
            error = "The Workload API address is empty.";
            return false;
        }

        int colon = address.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon > 0 ? address[..colon] : string.Empty;
        string rest = colon > 0 ? address[(colon + 1)..] : address;
        if (scheme.Equals("unix", StringComparison.OrdinalIgnoreCase))
        {
            error = ParseUnix(address, rest, out parsed);
        }
        else if (scheme.Equals("tcp", StringComparison.OrdinalIgnoreCase))
        {
            error = ParseTcp(address, rest, out parsed);
        }
        else
        {
            error = Invalid(address, colon > 0 && address.AsSpan(0, colon).IndexOfAny('/', '.') < 0
                ? $"the scheme '{scheme}' is not supported; use unix:///path/to/socket or tcp://IP:port"
                : "it has no scheme; use unix:///path/to/socket or tcp://IP:port");
        }

        return parsed is not null;
    }

    private static string? ParseUnix(string address, string rest, out WorkloadApiAddress? parsed)
    {
        parsed = null;
        if (rest.IndexOfAny(['?', '#']) is int bad and >= 0)
        {
            return Invalid(address, rest[bad] == '?' ? "a unix: address must not have a query" : "a unix: address must not have a fragment");
        }

        string path = rest;
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            int slash = rest.IndexOf('/', 2);
            string authority = slash < 0 ? rest[2..] : rest[2..slash];
            if (authority.Length > 0)
            {
                return Invalid(address, $"a unix: address must not have an authority ('{authority}'); use unix:///absolute/path");
            }

            path = slash < 0 ? string.Empty : rest[slash..];
        }

        if (path.Length == 0)
        {
            return Invalid(address, "the socket path is missing");
        }

        if (path[0] != '/')
        {
            return Invalid(address, "the socket path must be absolute (unix:///path or unix:/path)");
        }

        if (path.EndsWith('/'))
        {
            return Invalid(address, "the socket path names a directory");
        }

        parsed = new WorkloadApiAddress("unix://" + path, path, null);
        return null;
    }

    private static string? ParseTcp(string address, string rest, out WorkloadApiAddress? parsed)
    {
        parsed = null;
        if (!rest.StartsWith("//", StringComparison.Ordinal))
        {
            return Invalid(address, "a tcp: address must be tcp://IP:port");
        }

        string authority = rest[2..];
        if (authority.IndexOfAny(['/', '?', '#']) is int extra and >= 0)
        {
            return Invalid(address, authority[extra] switch
            {
                '/' => "a tcp: address must not have a path",
                '?' => "a tcp: address must not have a query",
                _ => "a tcp: address must not have a fragment",
            });
        }

        if (authority.Contains('@', StringComparison.Ordinal))
        {
            return Invalid(address, "a tcp: address must not have userinfo");
        }

        string host;
        string port;
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return Invalid(address, "the IPv6 address has no closing ']'");
            }

            host = authority[1..close];
            string afterHost = authority[(close + 1)..];
            if (!afterHost.StartsWith(':'))
            {
                return Invalid(address, "the port is missing (tcp://[IPv6]:port)");
            }

            port = afterHost[1..];
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            if (colon < 0)
            {
                return Invalid(address, "the port is missing (tcp://IP:port)");
            }

            host = authority[..colon];
            port = authority[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                return Invalid(address, "an IPv6 address must be in brackets (tcp://[::1]:port)");
            }
        }

        if (!IsIpLiteral(host, out IPAddress? ip))
        {
            return Invalid(address, $"the host '{host}' must be an IP address, not a name");
        }

        if (port.Length == 0 || !port.All(char.IsAsciiDigit) || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int portNumber) || portNumber is < 1 or > 65535)
        {
            return Invalid(address, port.Length == 0 ? "the port is missing" : $"the port '{port}' is not a number from 1 to 65535");
        }

        var endPoint = new IPEndPoint(ip, portNumber);
        parsed = new WorkloadApiAddress("tcp://" + endPoint, null, endPoint);
        return null;
    }

    private static bool IsIpLiteral(string host, [NotNullWhen(true)] out IPAddress? ip)
    {
        ip = null;
        if (host.Contains(':', StringComparison.Ordinal))
        {
            return IPAddress.TryParse(host, out ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        // IPAddress.TryParse also takes "1" or "0x7f.1"; the address must be a dotted quad.
        string[] parts = host.Split('.');
        return parts.Length == 4
            && parts.All(static p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, CultureInfo.InvariantCulture) <= 255)
            && IPAddress.TryParse(host, out ip);
    }

    private static string Invalid(string address, string reason) =>
        $"Invalid Workload API address \"{address}\": {reason}.";

    /// <summary>The normalised address, e.g. <c>unix:///run/spire/agent.sock</c> or <c>tcp://127.0.0.1:8081</c>.</summary>
    public override string ToString() => _text;

    /// <inheritdoc/>
    public bool Equals([NotNullWhen(true)] WorkloadApiAddress? other) => other is not null && _text == other._text;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as WorkloadApiAddress);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);
}
