// The fifth patch of scripts/patch-kafkajs.mjs: a consumer stopped while its fetchers rebalance stays stopped.
//
// kafkajs' FetchManager runs one fetcher per broker. When the brokers change (one goes or comes
// back), a fetcher throws a rebalance error, and start() stops them all and makes new ones. A
// consumer's stop (Runner.stop: `running = false`, then FetchManager.stop) that lands while start()
// is waiting for the old fetchers to end stops those old ones only; start() then makes new fetchers
// anyway. Their fetch returns at once, empty, because the runner is not running, and each loops on
// it: a loop of promises that never lets the event loop turn. The process takes a core, answers
// nothing, and its shutdown deadline (a timer) never fires. Seen in CI on 2026-12-06: a mailer and a
// webhook dispatcher SIGTERMed as the three brokers died (npm start killed) spun for over 15 minutes,
// profiled in FetchManager's validateShouldRebalance and Runner.fetch. Our consumer supervisor stops
// a consumer to replace it too, so it was not only a shutdown's problem.
//
// Patched, stop() is remembered, and a rebalance after it ends start() instead of making new
// fetchers; start() forgets it, as the runner starts a fetch manager only while it runs. The test
// (packages/runtime/test/kafkajs-fetch-manager.test.ts) replays the race with kafkajs' own
// FetchManager and fetchers, patched and not.

export const FETCH_MANAGER_PATCH_MARKER = 'postline: a stop during a rebalance ends the fetchers';

const ORIGINAL = `  const start = async () => {
    logger.debug('Starting...')

    while (true) {
      fetchers = createFetchers()

      try {
        await Promise.all(fetchers.map(fetcher => fetcher.start()))
      } catch (error) {
        await stop()

        if (error instanceof KafkaJSFetcherRebalanceError) {
          logger.debug('Rebalancing fetchers...')
          continue
        }

        throw error
      }

      break
    }
  }

  const stop = async () => {
    logger.debug('Stopping fetchers...')
    await Promise.all(fetchers.map(fetcher => fetcher.stop()))
    logger.debug('Stopped fetchers')
  }
`;

const PATCHED = `  // ${FETCH_MANAGER_PATCH_MARKER} (postline's scripts/kafkajs-fetch-manager-patch.mjs says why).
  let stopped = false

  const start = async () => {
    logger.debug('Starting...')
    stopped = false

    while (true) {
      fetchers = createFetchers()

      try {
        await Promise.all(fetchers.map(fetcher => fetcher.start()))
      } catch (error) {
        await stopFetchers()

        if (error instanceof KafkaJSFetcherRebalanceError) {
          if (stopped) break
          logger.debug('Rebalancing fetchers...')
          continue
        }

        throw error
      }

      break
    }
  }

  const stopFetchers = async () => {
    logger.debug('Stopping fetchers...')
    await Promise.all(fetchers.map(fetcher => fetcher.stop()))
    logger.debug('Stopped fetchers')
  }

  const stop = async () => {
    stopped = true
    await stopFetchers()
  }
`;

export const FETCH_MANAGER_PATCH = {
  file: 'src/consumer/fetchManager.js',
  original: ORIGINAL,
  patched: PATCHED,
  marker: FETCH_MANAGER_PATCH_MARKER,
};
