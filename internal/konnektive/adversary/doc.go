// Package adversary is a second, deliberately hostile test server for the
// Konnektive query API, written from ../../../../shared/spec/konnektive-api.md
// alone (not from the project's fake), so that the client and the sync can be
// tested against a server that does not share their assumptions.
//
// It serves POST (and GET) /customer/query/, /order/query/,
// /purchase/query/ and /transactions/query/ (exactly these paths, with the
// trailing slash), plus a minimal /transactions/summary/. Every answer is
// HTTP 200 with the {result, message} envelope unless a transport fault was
// injected.
//
// # Its own rules (choices where the spec is silent)
//
//   - Checks run in this order: IP allow-list (Config.DenyIP), login,
//     endpoint permission (Config.DenyEndpoints), parameters.
//   - startDate/endDate: MM/DD/YYYY, M/D/YY (20YY), M/D/YYYY and
//     YYYY-MM-DD[ HH:MM:SS] (time ignored). Both days inclusive, whole local
//     days in Config.Location: a row is in the window when the calendar date
//     of its instant, seen in the account zone, lies between the two days.
//     Both are required unless customerId, orderId, purchaseId or
//     transactionId is given.
//   - Order: ascending by the wall clock of the range type's date
//     (dateCreated, dateUpdated or, for customers, mostRecentActivity), as a
//     zoneless DATETIME column sorts (so in the repeated hour of a fall-back
//     day a later instant can sort first), ties broken by the row's internal
//     creation sequence (not by its id: order and purchase ids are
//     random-looking strings). sortDir=0 reverses it.
//   - resultsPerPage: 25 when absent or not a positive integer, at most 200.
//     page: 1 when absent or not a positive integer.
//   - A page past the end answers like an empty query, "No <entity> matching
//     those parameters could be found", unless Config.PastEndData.
//   - customerId, orderId, purchaseId, transactionId, txnType, responseType,
//     orderStatus and isChargedback filter; other parameters are ignored.
//
// # Data
//
// A dataset is generated from Config.Seed: customers arriving in a few bursts
// between Config.Start and Config.Now (long stretches stay empty) and on
// busy days (hundreds of rows), each with an order and a SALE, declines
// (SOFT_DECLINE retried minutes later, HARD_DECLINE), a subscription
// (purchase) rebilling every 30 days with billingCycleNumber, cancellations,
// refunds (a REFUND row with parentTxnId and a positive amount) and
// chargebacks (isChargedback=1, chargebackAmount, chargebackDate restated on
// the original SALE, whose dateUpdated moves). Times are account-local wall
// clock "YYYY-MM-DD HH:MM:SS"; a day's times cover its real length (23 or 25
// hours on DST days) and some land on exactly 00:00:00 and 23:59:59.
//
// The clock is virtual: nothing after Server.Now exists. Server.Advance moves
// it and runs what happened meanwhile: new customers, rebills, late refunds
// and chargebacks.
//
// # Adversarial behaviour
//
// Every behaviour is off by default and switched on by a rate (the fraction
// of requests it hits) or scheduled for given requests (Config.Schedule).
// Decisions are hashed from the seed, the request (endpoint and parameters,
// without credentials) and how many times the same request was seen before,
// so the same seed and the same requests give the same answers, and a retry
// of a faulted request draws again.
//
// Kinds are drawn only for requests that passed the login and the
// refusals. Drift happens before the answer is built, also when the same
// request then gets a transport fault (the data changed anyway).
//
// Ground truth, independent of any client: Holds, Rows, BadRows, Tally,
// Select, Requests and Stats.
package adversary
