// One queue per file for the whole process: tasks on the same path run one after another, in the order
// they were queued, whoever queued them (two sinks or two stores on one path included). A failed task
// does not stop the ones after it.
const queues = new Map<string, Promise<unknown>>();

export function serializedPerFile<T>(file: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return next;
}
