package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.it.ItalianAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "italian" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "italian" is
 * missing. Production Elasticsearch backs "italian" with Lucene's {@link ItalianAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("italian")
public final class ItalianAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public ItalianAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new ItalianAnalyzer();
    }
}
