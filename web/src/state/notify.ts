// Toasts without the toast library on the page's first load: the library (and the
// host that shows its toasts) is fetched when the first message is sent, and that
// message waits for the host, so none is lost.
type Kind = 'error' | 'success';

let hostReady: () => void = () => undefined;
const ready = new Promise<void>((resolve) => (hostReady = resolve));
const wanted = new Set<() => void>();
let asked = false;

/** The toast host calls this once its toaster listens. */
export function toasterMounted() {
  hostReady();
}

/** The toast host waits here until the first message asks for it. */
export function onFirstToast(listener: () => void): () => void {
  if (asked) listener();
  else wanted.add(listener);
  return () => wanted.delete(listener);
}

function send(kind: Kind, message: string) {
  if (!asked) {
    asked = true;
    wanted.forEach((l) => l());
    wanted.clear();
  }
  void Promise.all([import('sonner'), ready]).then(([{ toast }]) => toast[kind](message));
}

export const notify = {
  error: (message: string) => send('error', message),
  success: (message: string) => send('success', message),
};
