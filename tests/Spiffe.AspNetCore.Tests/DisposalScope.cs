using System.Collections.Concurrent;

namespace Spiffe.AspNetCore.Tests;

/// <summary>Disposes what a test created (SVIDs, bundles) when the test ends.</summary>
internal sealed class DisposalScope : IDisposable
{
    private readonly ConcurrentStack<IDisposable> _owned = new();

    public T Add<T>(T disposable)
        where T : IDisposable
    {
        _owned.Push(disposable);
        return disposable;
    }

    public void Dispose()
    {
        while (_owned.TryPop(out IDisposable? disposable))
        {
            disposable.Dispose();
        }
    }
}
