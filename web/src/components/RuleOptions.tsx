import type { ReactNode } from 'react';
import type { Schemas } from '../api/client';

type Rule = Schemas['RuleView'];

/** The options of a rule picker: "every rule", any extra options, then each rule by name. */
export function RuleOptions({ rules, children }: { rules: Rule[] | undefined; children?: ReactNode }) {
  return (
    <>
      <option value="">every rule</option>
      {children}
      {(rules ?? []).map((r) => (
        <option key={r.id} value={r.id}>
          {r.name}
        </option>
      ))}
    </>
  );
}
