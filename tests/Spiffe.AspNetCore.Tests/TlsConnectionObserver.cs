using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;

namespace Spiffe.AspNetCore.Tests;

/// <summary>
/// Watches the connections of the inner <see cref="SocketsHttpHandler"/>s of a
/// <c>SpiffeHttpHandler</c> (install <see cref="Configure"/> as
/// <c>SpiffeHttpHandlerOptions.ConfigureHandler</c>): for each connection, the server certificate
/// the client accepted in its handshake and the first bytes on the wire each way, from which
/// <see cref="ObservedConnection"/> tells a full TLS 1.3 handshake from a resumed one.
/// </summary>
internal sealed class TlsConnectionObserver
{
    private readonly ConcurrentQueue<ObservedConnection> _connections = new();
    private readonly ConcurrentDictionary<HttpRequestMessage, ObservedConnection> _handshaking = new();

    /// <summary>Connections opened so far, in the order they were opened.</summary>
    public IReadOnlyList<ObservedConnection> Connections => [.. _connections];

    /// <summary>Serials of the server certificates accepted so far (one per completed handshake).</summary>
    public IEnumerable<string> ServerSerials => _connections.Select(c => c.ServerSerial).OfType<string>();

    public void Configure(SocketsHttpHandler handler)
    {
        handler.ConnectCallback = ConnectAsync;
        handler.PlaintextStreamFilter = OnHandshakeCompleted;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new ObservedConnection(new NetworkStream(socket, ownsSocket: true));
        _connections.Enqueue(connection);
        _handshaking[context.InitialRequestMessage] = connection;
        return connection;
    }

    // Runs after the TLS handshake, with the SslStream; the request that opened the connection pairs it with its wire.
    private ValueTask<Stream> OnHandshakeCompleted(SocketsHttpPlaintextStreamFilterContext context, CancellationToken cancellationToken)
    {
        if (_handshaking.TryRemove(context.InitialRequestMessage, out ObservedConnection? connection) && context.PlaintextStream is SslStream ssl)
        {
            connection.ServerSerial = ssl.RemoteCertificate?.GetSerialNumberString();
        }

        return ValueTask.FromResult(context.PlaintextStream);
    }
}

/// <summary>
/// One client connection: a pass-through stream that keeps the first bytes written (the
/// ClientHello) and read (the ServerHello). In TLS 1.3 the ServerHello is sent in clear and
/// carries the pre_shared_key extension exactly when the server accepted a resumption (RFC 8446
/// §4.2.11), so these bytes show whether the handshake was full, whatever the SslStream reports.
/// </summary>
internal sealed class ObservedConnection(Stream inner) : Stream
{
    private const int Kept = 8192;
    private const byte ClientHello = 1;
    private const byte ServerHello = 2;
    private const ushort PreSharedKey = 41;
    private const ushort SupportedVersions = 43;
    private const byte CertificateMessage = 11;

    private readonly Lock _lock = new();
    private readonly MemoryStream _written = new();
    private readonly MemoryStream _read = new();

    /// <summary>The server certificate the client accepted, once the handshake completed.</summary>
    public string? ServerSerial { get; set; }

    /// <summary>The client offered to resume an earlier session (its ClientHello carries a pre-shared key).</summary>
    public bool ClientOfferedResumption => Extensions(Snapshot(_written), ClientHello).ContainsKey(PreSharedKey);

    /// <summary>The server accepted the resumption: the handshake skipped certificates on both sides.</summary>
    public bool Resumed => Extensions(Snapshot(_read), ServerHello).ContainsKey(PreSharedKey);

    /// <summary>
    /// TLS 1.2 only: the server sent its Certificate message (a full handshake). In TLS 1.2 the
    /// server's handshake messages before its ChangeCipherSpec are in clear, and an abbreviated
    /// (resumed) handshake has none (RFC 5246 §7.3).
    /// </summary>
    public bool ServerSentCertificateInClear => HandshakeTypesBeforeChangeCipherSpec(Snapshot(_read)).Contains(CertificateMessage);

    /// <summary>The ServerHello selected TLS 1.3.</summary>
    public bool IsTls13 => Extensions(Snapshot(_read), ServerHello).TryGetValue(SupportedVersions, out byte[]? version) && version is [0x03, 0x04];

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override string ToString() => $"server {ServerSerial ?? "?"}, TLS 1.3 {IsTls13}, offered resumption {ClientOfferedResumption}, resumed {Resumed}";

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read = inner.Read(buffer);
        Keep(_read, buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read = await inner.ReadAsync(buffer, cancellationToken);
        Keep(_read, buffer.Span[..read]);
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Keep(_written, buffer);
        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(_written, buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    private void Keep(MemoryStream kept, ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            int room = Kept - (int)kept.Length;
            if (room > 0)
            {
                kept.Write(bytes[..Math.Min(room, bytes.Length)]);
            }
        }
    }

    private byte[] Snapshot(MemoryStream kept)
    {
        lock (_lock)
        {
            return kept.ToArray();
        }
    }

    // The extensions of the hello message at the start of the first TLS record (type → data).
    private static Dictionary<ushort, byte[]> Extensions(byte[] wire, byte helloType)
    {
        // Record: type 22 (handshake), version, length; handshake: type, 3-byte length.
        Assert.True(wire.Length >= 9 && wire[0] == 22 && wire[5] == helloType, $"no TLS hello of type {helloType} at the start of the connection");
        int end = Math.Min(wire.Length, 5 + BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(3)));
        int at = 9 + 2 + 32; // legacy_version, random
        at += 1 + wire[at]; // legacy_session_id
        if (helloType == ClientHello)
        {
            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(at)); // cipher_suites
            at += 1 + wire[at]; // legacy_compression_methods
        }
        else
        {
            at += 2 + 1; // cipher_suite, legacy_compression_method
        }

        int extensionsEnd = Math.Min(end, at + 2 + BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(at)));
        at += 2;
        var extensions = new Dictionary<ushort, byte[]>();
        while (at + 4 <= extensionsEnd)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(at));
            int length = BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(at + 2));
            extensions[type] = wire.AsSpan(at + 4, Math.Min(length, extensionsEnd - at - 4)).ToArray();
            at += 4 + length;
        }

        return extensions;
    }

    // The handshake message types in the records before the first ChangeCipherSpec record.
    private static List<byte> HandshakeTypesBeforeChangeCipherSpec(byte[] wire)
    {
        var types = new List<byte>();
        var handshake = new List<byte>();
        int at = 0;
        while (at + 5 <= wire.Length && wire[at] != 20)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(at + 3));
            if (wire[at] == 22)
            {
                handshake.AddRange(wire.AsSpan(at + 5, Math.Min(length, wire.Length - at - 5)));
            }

            at += 5 + length;
        }

        for (int m = 0; m + 4 <= handshake.Count; m += 4 + ((handshake[m + 1] << 16) | (handshake[m + 2] << 8) | handshake[m + 3]))
        {
            types.Add(handshake[m]);
        }

        return types;
    }
}
