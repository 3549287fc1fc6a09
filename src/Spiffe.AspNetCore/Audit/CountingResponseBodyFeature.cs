using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Spiffe.AspNetCore.Audit;

/// <summary>
/// The server's response body feature, counting the bytes the app writes through its stream, its
/// pipe writer or SendFile (for the audit event). Nothing is buffered here: every call goes straight
/// to the server's own feature.
/// </summary>
#pragma warning disable CA1001 // the counting stream wraps the server's stream, which the server owns and disposes
internal sealed class CountingResponseBodyFeature : IHttpResponseBodyFeature
#pragma warning restore CA1001
{
    private readonly IHttpResponseBodyFeature _inner;
    private long _bytesWritten;
    private CountingWriteStream? _stream;
    private CountingPipeWriter? _writer;

    public CountingResponseBodyFeature(IHttpResponseBodyFeature inner)
    {
        _inner = inner;
    }

    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    public Stream Stream
    {
        get
        {
            Stream current = _inner.Stream;
            if (_stream is null || !ReferenceEquals(_stream.Inner, current))
            {
                _stream = new CountingWriteStream(current, this);
            }

            return _stream;
        }
    }

    public PipeWriter Writer
    {
        get
        {
            PipeWriter current = _inner.Writer;
            if (_writer is null || !ReferenceEquals(_writer.Inner, current))
            {
                _writer = new CountingPipeWriter(current, this);
            }

            return _writer;
        }
    }

    public Task CompleteAsync() => _inner.CompleteAsync();

    public void DisableBuffering() => _inner.DisableBuffering();

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await _inner.SendFileAsync(path, offset, count, cancellationToken).ConfigureAwait(false);
        Add(count ?? Math.Max(0, new FileInfo(path).Length - offset));
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _inner.StartAsync(cancellationToken);

    private void Add(long bytes) => Interlocked.Add(ref _bytesWritten, bytes);

    private sealed class CountingPipeWriter(PipeWriter inner, CountingResponseBodyFeature owner) : PipeWriter
    {
        public PipeWriter Inner => inner;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            owner.Add(bytes);
            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            owner.Add(source.Length);
            return inner.WriteAsync(source, cancellationToken);
        }
    }

    private sealed class CountingWriteStream(Stream inner, CountingResponseBodyFeature owner) : Stream
    {
        public Stream Inner => inner;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            owner.Add(count);
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Add(buffer.Length);
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            owner.Add(count);
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Add(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
