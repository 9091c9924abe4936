import { Component, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
  onError?: () => void;
}

/** Keeps a failure inside the part that failed, with its message in words. */
export class ErrorBoundary extends Component<Props, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch() {
    this.props.onError?.();
  }

  render() {
    if (this.state.error) {
      return (
        <div className="panel-error" role="alert">
          {this.state.error.message}
        </div>
      );
    }
    return this.props.children;
  }
}
