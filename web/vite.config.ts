import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// The dev server proxies the API to a locally running `vigil serve`.
const backend = process.env.VIGIL_URL ?? 'http://127.0.0.1:8080';

/**
 * Adds `<link rel="modulepreload">` for the dashboard page's chunk (and the chunks it
 * imports) to index.html. The page is a lazy route, so without this the browser would
 * learn of it only after the entry has been fetched and run; opening a dashboard is
 * the first thing most visits do, so its code travels with the entry.
 */
function preloadRoute(moduleSuffix: string): Plugin {
  return {
    name: 'vigil-preload-route',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle;
        if (!bundle) return html;
        const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
        const page = chunks.find((c) => c.facadeModuleId?.endsWith(moduleSuffix));
        if (!page) throw new Error(`vigil-preload-route: no chunk for ${moduleSuffix}`);
        const entry = chunks.find((c) => c.isEntry);
        const already = new Set([entry?.fileName, ...(entry?.imports ?? [])]);
        const files: string[] = [];
        const visit = (name: string) => {
          if (already.has(name) || files.includes(name)) return;
          files.push(name);
          const c = bundle[name];
          if (c?.type === 'chunk') c.imports.forEach(visit);
        };
        visit(page.fileName);
        // The page's stylesheets too (uPlot's), so its first paint is styled without a
        // fetch started by the lazy import.
        const css = files.flatMap((f) => {
          const c = bundle[f];
          return c?.type === 'chunk' ? [...(c.viteMetadata?.importedCss ?? [])] : [];
        });
        return [
          ...files.map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${f}` }, injectTo: 'head' as const })),
          ...css.map((f) => ({ tag: 'link', attrs: { rel: 'stylesheet', crossorigin: true, href: `/${f}` }, injectTo: 'head' as const })),
        ];
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), preloadRoute('/src/pages/Dashboard.tsx')],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Nothing inline: the server's Content-Security-Policy forbids inline scripts.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': backend,
      '/health': backend,
    },
  },
});
