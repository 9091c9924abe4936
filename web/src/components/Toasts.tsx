// Where toasts appear: sonner's Toaster, mounted when the first toast is sent
// (state/notify.ts) so the library is not part of the first load.
import { lazy, Suspense, useEffect, useState } from 'react';
import { onFirstToast, toasterMounted } from '../state/notify';
import { useTheme } from '../state/theme';

const Toaster = lazy(() =>
  import('sonner').then(({ Toaster: SonnerToaster }) => ({
    default: function ListeningToaster(props: { theme: 'dark' | 'light' }) {
      // The toaster subscribes in its own effect, which runs before this one.
      useEffect(() => toasterMounted(), []);
      return <SonnerToaster theme={props.theme} position="bottom-right" closeButton />;
    },
  })),
);

export function ToastHost() {
  const theme = useTheme((s) => s.theme);
  const [needed, setNeeded] = useState(false);
  useEffect(() => onFirstToast(() => setNeeded(true)), []);
  if (!needed) return null;
  return (
    <Suspense fallback={null}>
      <Toaster theme={theme} />
    </Suspense>
  );
}
