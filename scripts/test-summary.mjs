// Prints vitest's JSON report (written by `npm test`, see vitest.config.ts) as one closing line:
// "N passed, N failed, N skipped" — what CI reads last, after the coverage table.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.local/vitest-results.json';
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
} catch (error) {
  console.log(`no test report in ${file}: ${error.message}`);
  process.exitCode = 1;
}
